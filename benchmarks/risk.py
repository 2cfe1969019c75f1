"""Risk-sharing benchmark (not a test): prints JSON.

1. Portfolio loss per party: the one-factor Gaussian-copula simulation of a book of N loans in S
   scenarios with the real schemes of lending-rules §5 applied loan by loan
   (``ippledge.risksharing.engine.portfolio.simulate``), and beside it, in the same run, a naive
   per-loan, per-scenario pure-Python loop (one normal draw per loan and scenario, the scheme's shares
   added loan by loan) on a sample of loans × scenarios, extrapolated per loan-scenario, with the ratio.
2. Claim allocation: ``allocate`` (Decimal, to the fen) for M non-performing loans.

    python benchmarks/risk.py [--loans 100000] [--scenarios 100000] [--npl 10000] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from scipy import special  # noqa: E402

from ippledge.risksharing.engine.allocation import Party, SchemeRules, allocate, validate  # noqa: E402
from ippledge.risksharing.engine.portfolio import Book, share_table, simulate  # noqa: E402
from ippledge.risksharing.engine.vasicek import basel_corporate_correlation  # noqa: E402

D = Decimal
# The schemes of lending-rules §5 that a book is enrolled in (a share of loans stays outside any scheme).
SCHEMES = {
    "qingdao": SchemeRules((Party("insurer", "insurer", D("0.60")), Party("bank", "bank", D("0.20")),
                            Party("guarantor", "guarantor", D("0.20")))),
    "zhongshan": SchemeRules((Party("fund", "fund", D("0.54")), Party("insurer", "insurer", D("0.16")),
                              Party("appraiser", "appraiser", D("0.04")))),
    "guangzhou_5311": SchemeRules((Party("fund", "fund", D("0.50")), Party("insurer", "insurer", D("0.30")),
                                   Party("appraiser", "appraiser", D("0.10")))),
    "guangzhou_2023": SchemeRules((Party("fund", "fund", D("0.50")),), eligible_base_cap=D(10_000_000),
                                  ip_portion_required=True),
    "weihai": SchemeRules((Party("province", "fund", D("0.40")),
                           Party("city", "fund", D("0.20"), per_loan_cap=D(1_000_000)))),
}
GRADE_PD = np.array([0.003, 0.008, 0.015, 0.025, 0.04, 0.07, 0.12])  # PD by internal grade (synthetic)
GRADE_WEIGHT = np.array([0.10, 0.20, 0.25, 0.20, 0.13, 0.08, 0.04])


def make_book(n: int, seed: int) -> Book:
    g = np.random.default_rng(seed)
    ead = np.round(np.exp(g.uniform(math.log(3e5), math.log(3e7), n)), 2)
    scheme = g.choice(np.arange(-1, len(SCHEMES)), n, p=[0.2, 0.15, 0.15, 0.15, 0.2, 0.15])
    ip = np.where(g.random(n) < 0.85, np.round(ead * g.uniform(0.4, 1.0, n), 2), np.nan)
    return Book(pd=GRADE_PD[g.choice(len(GRADE_PD), n, p=GRADE_WEIGHT)], ead=ead,
                lgd=np.round(g.uniform(0.60, 0.75, n), 4), scheme=scheme, ip_secured=ip)


def naive_loop(book: Book, loans: int, scenarios: int, seed: int) -> dict:
    """The obvious implementation: for every scenario and loan draw the loan's shock, test the default
    and add the scheme's shares of its loss, all in Python floats."""
    columns, col, amount = share_table(book, SCHEMES)
    rho = basel_corporate_correlation(book.pd[:loans])
    threshold = special.ndtri(book.pd[:loans])
    loans_ = [(float(threshold[i]), math.sqrt(rho[i]), math.sqrt(1 - rho[i]),
               [(int(c), float(a)) for c, a in zip(col[i], amount[i], strict=True) if a]) for i in range(loans)]
    rng = random.Random(seed)
    totals = [0.0] * len(columns)
    started = time.perf_counter()
    for _ in range(scenarios):
        z = rng.gauss(0.0, 1.0)
        losses = [0.0] * len(columns)
        for t, a, b, shares in loans_:
            if a * z + b * rng.gauss(0.0, 1.0) < t:
                for c, x in shares:
                    losses[c] += x
        for c, x in enumerate(losses):
            totals[c] += x
    seconds = time.perf_counter() - started
    return {"sample_loans": loans, "sample_scenarios": scenarios, "seconds": round(seconds, 3),
            "loan_scenarios_per_second": round(loans * scenarios / seconds),
            "sample_expected_loss_cny": round(sum(totals) / scenarios / 100, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--scenarios", type=int, default=100_000)
    parser.add_argument("--npl", type=int, default=10_000)
    parser.add_argument("--sample-loans", type=int, default=200)
    parser.add_argument("--sample-scenarios", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    assert all(validate(r) == [] for r in SCHEMES.values())

    result: dict = {"benchmark": "risksharing.portfolio_and_claims", "python": platform.python_version(),
                    "numpy": np.__version__, "cpus": os.cpu_count(), "load_average_before": os.getloadavg(),
                    "loans": args.loans, "scenarios": args.scenarios, "seed": args.seed,
                    "schemes": list(SCHEMES)}
    book = make_book(args.loans, args.seed)
    simulate(make_book(500, args.seed + 1), SCHEMES, scenarios=2000, seed=args.seed)  # warm-up

    workers = args.workers or os.cpu_count() or 1
    started = time.perf_counter()
    res = simulate(book, SCHEMES, scenarios=args.scenarios, seed=args.seed, workers=workers)
    seconds = time.perf_counter() - started
    pairs = args.loans * args.scenarios
    vector = {"seconds": round(seconds, 3), "loan_scenarios_per_second": round(pairs / seconds),
              "workers": workers, "mean_pd": round(float(book.pd.mean()), 5),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "parties": {name: {"el": str(p.expected_loss), "el_exact": str(p.expected_loss_exact),
                                 "var99": str(p.var[0.99]), "es99": str(p.es[0.99]),
                                 "var999": str(p.var[0.999]), "es999": str(p.es[0.999])}
                          for name, p in res.parties.items()}}
    result["vectorised"] = vector

    naive = naive_loop(book, min(args.sample_loans, args.loans), args.sample_scenarios, args.seed)
    naive["projected_book_seconds"] = round(pairs / naive["loan_scenarios_per_second"], 1)
    result["naive_python_loop"] = naive
    result["speedup_vs_naive"] = round(vector["loan_scenarios_per_second"] / naive["loan_scenarios_per_second"], 1)

    # Claims: 10,000 NPL loans, each split under its scheme to the fen.
    g = np.random.default_rng(args.seed + 2)
    names = list(SCHEMES)
    claims = []
    for _ in range(args.npl):
        loan = D(int(g.integers(30_000_000, 3_000_000_000))) / 100
        loss = (loan * D(int(g.integers(20, 101))) / 100).quantize(D("0.01"))
        ip = (loan * D(int(g.integers(40, 101))) / 100).quantize(D("0.01")) if g.random() < 0.85 else None
        claims.append((SCHEMES[names[int(g.integers(len(names)))]], loan, loss, ip))
    started = time.perf_counter()
    allocations = [allocate(r, loan_amount=a, principal_loss=x, ip_secured_amount=ip) for r, a, x, ip in claims]
    claim_s = time.perf_counter() - started
    assert all(sum(al.shares.values()) == c[2] for al, c in zip(allocations, claims, strict=True))
    result["claims"] = {"npl_loans": args.npl, "seconds": round(claim_s, 3),
                        "per_claim_us": round(claim_s / args.npl * 1e6, 1),
                        "shares_add_up_to_the_loss": True}
    result["load_average_after"] = os.getloadavg()
    result["targets"] = {"portfolio_within_60s": seconds <= 60, "speedup_at_least_50x": result["speedup_vs_naive"] >= 50,
                         "claims_within_2s": claim_s <= 2}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
