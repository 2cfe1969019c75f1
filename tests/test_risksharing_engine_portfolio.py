"""The portfolio simulation: its loss distribution against the Vasicek formulas, the schemes applied
loan by loan as the allocation does, and reproducibility whatever the chunking."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from ippledge.risksharing.engine.allocation import Party, SchemeRules, allocate
from ippledge.risksharing.engine.portfolio import Book, share_table, simulate
from ippledge.risksharing.engine.vasicek import finite_pool_distribution, large_pool_quantile

GZ = SchemeRules(parties=(Party("fund", "fund", D("0.5")),), eligible_base_cap=D(10_000_000), ip_portion_required=True)
QD = SchemeRules(parties=(Party("insurer", "insurer", D("0.6")), Party("bank", "bank", D("0.2")),
                          Party("guarantor", "guarantor", D("0.2"))))
CAPPED = SchemeRules(parties=(Party("fund", "fund", D("0.4"), per_loan_cap=D(300_000)),
                              Party("insurer", "insurer", D("0.3"))))
SCHEMES = {"gz": GZ, "qd": QD, "capped": CAPPED}


def _book(n: int, seed: int = 1) -> Book:
    g = np.random.default_rng(seed)
    ead = np.round(np.exp(g.uniform(np.log(5e5), np.log(2e7), n)), 2)
    return Book(pd=g.choice([0.01, 0.03, 0.08], n), ead=ead, lgd=np.round(g.uniform(0.6, 0.75, n), 4),
                scheme=g.integers(-1, 3, n),
                ip_secured=np.where(g.random(n) < 0.7, np.round(ead * g.uniform(0.3, 1, n), 2), np.nan))


def test_finite_pool_matches_vasicek():
    n, scenarios = 10, 200_000
    r = simulate(Book(pd=np.full(n, 0.10), ead=np.ones(n), lgd=1.0, rho=0.20), scenarios=scenarios, seed=11,
                 keep_losses=True)
    defaults = np.rint(r.losses_fen[:, 0] / 100).astype(int)
    observed = np.bincount(defaults, minlength=n + 1) / scenarios
    expected = finite_pool_distribution(n, 0.10, 0.20)
    sigma = np.sqrt(expected * (1 - expected) / scenarios)
    assert np.all(np.abs(observed - expected) < 5 * sigma + 1e-5)
    assert abs(observed[0] - 0.456466) < 5 * sigma[0]


def test_independent_loans_match_the_binomial():
    r = simulate(Book(pd=np.full(10, 0.02), ead=np.ones(10), lgd=1.0, rho=0.0), scenarios=100_000, seed=5,
                 keep_losses=True)
    assert abs((r.losses_fen[:, 0] == 0).mean() - 0.817073) < 5 * np.sqrt(0.817 * 0.183 / 100_000)


def test_large_pool_quantiles_match_vasicek():
    n = 4000
    r = simulate(Book(pd=np.full(n, 0.02), ead=np.ones(n), lgd=1.0), scenarios=20_000, seed=3, keep_losses=True)
    fraction = r.losses_fen[:, 0] / 100 / n
    for q, rel in ((0.5, 0.08), (0.99, 0.06), (0.999, 0.10)):
        assert np.quantile(fraction, q) == pytest.approx(float(large_pool_quantile(q, 0.02, 0.164146)), rel=rel)
    assert fraction.mean() == pytest.approx(0.02, rel=0.03)


def test_each_loan_default_splits_as_the_allocation_does():
    book = _book(300)
    columns, col, amount = share_table(book, SCHEMES)
    names = {"bank": "bank"}
    for i in range(len(book)):
        loss = (D(str(book.ead[i])) * D(str(book.lgd[i]))).quantize(D("0.01"), rounding="ROUND_HALF_UP")
        s = int(book.scheme[i])
        got = {columns[c]: D(int(a)) / 100 for c, a in zip(col[i], amount[i], strict=True) if a}
        assert sum(got.values(), D(0)) == loss
        if s < 0:
            assert got == ({"bank": loss} if loss else {})
            continue
        key = list(SCHEMES)[s]
        ip = None if np.isnan(book.ip_secured[i]) else D(str(book.ip_secured[i]))
        want = allocate(SCHEMES[key], loan_amount=D(str(book.ead[i])), principal_loss=loss, ip_secured_amount=ip)
        for name, value in want.shares.items():
            col_name = names.get(name, f"{key}/{name}")
            assert abs(got.get(col_name, D(0)) - value) <= D("0.02"), (i, name)


def test_results_do_not_depend_on_chunking_or_workers():
    book = _book(700, seed=2)
    a = simulate(book, SCHEMES, scenarios=5000, seed=9, keep_losses=True, workers=1, chunk_loans=256)
    b = simulate(book, SCHEMES, scenarios=5000, seed=9, keep_losses=True, workers=2, chunk_loans=33)
    assert np.array_equal(a.losses_fen, b.losses_fen)
    assert a.parties == b.parties


def test_party_risk_is_consistent():
    book = _book(2000, seed=4)
    r = simulate(book, SCHEMES, scenarios=20_000, seed=1)
    assert set(r.parties) == {"bank", "gz/fund", "qd/insurer", "qd/guarantor", "capped/fund", "capped/insurer",
                              "total"}
    total_el = sum(p.expected_loss for k, p in r.parties.items() if k != "total")
    assert abs(total_el - r.parties["total"].expected_loss) <= D("0.10")
    for name, p in r.parties.items():
        assert p.var[0.99] <= p.var[0.999] <= p.es[0.999]
        assert p.var[0.99] <= p.es[0.99]
        assert float(p.expected_loss) == pytest.approx(float(p.expected_loss_exact), rel=0.06, abs=1.0), name


def test_holders_merge_one_insurer_across_schemes():
    book = _book(500, seed=6)
    r = simulate(book, SCHEMES, scenarios=2000, seed=1,
                 holders={("qd", "insurer"): "picc", ("capped", "insurer"): "picc"})
    assert "picc" in r.parties and "qd/insurer" not in r.parties
