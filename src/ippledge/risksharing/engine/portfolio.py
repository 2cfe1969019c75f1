"""Who carries the loss of a book of IP-pledge loans: a seeded one-factor Gaussian-copula simulation with
the risk-sharing schemes applied loan by loan (lending-rules §6, issue 13 point 5).

Model.  Loan i defaults in a scenario when √ρ_i·Z + √(1−ρ_i)·ε_i < Φ⁻¹(PD_i) (Z the systematic factor of
the scenario, ε_i the loan's own shock).  A default loses ``EAD × LGD`` (LGD fixed per loan; an IP-only
loan defaults to :data:`DEFAULT_IP_LGD`, the middle of the 60–75% assumption).  The loss is split as
:mod:`.allocation` splits a principal loss: each party of the loan's scheme gets
``min(ratio × eligible_fraction × loss, per_loan_cap)`` to the fen, the bank the rest.  Because the loss
of a default is fixed, every party's amount per defaulted loan is a constant, precomputed once per loan
(:func:`share_table`), and a scenario's loss of a party is the sum of those constants over the loans
that default in it.  Correlation: a scalar, one per loan, or (``rho=None``) the Basel IRB corporate
correlation of each loan's PD.

Sampler (exact, sparse).  Dense sampling costs one normal draw per loan and scenario (10¹⁰ for 100,000
loans × 100,000 scenarios).  Given Z the loans default independently with p_i(Z) = Φ((Φ⁻¹(PD_i) −
√ρ_i·Z)/√(1−ρ_i)), which falls as Z rises.  So the scenarios are ordered by Z and cut into blocks; in a
block p_i is at most its value q at the block's first scenario.  Per loan and block a Bernoulli(q)
process over the block's scenarios is drawn by geometric gaps (memoryless, so blocks are independent
and a block whose gaps run out simply continues), and each candidate scenario s is kept with
probability p_i(Z_s)/q (thinning).  Each scenario then has loan i in default with probability exactly
p_i(Z_s), independently — the same law as the dense draw — at a cost proportional to the defaults
(≈ PD × scenarios per loan).  Blocks whose q is below 10⁻¹³ are skipped (a bias below 10⁻⁸ of a loan's
expected loss).

Reproducibility.  The factor comes from ``SeedSequence(seed, spawn_key=(0,))``, loan i's draws from its
own stream ``SeedSequence(seed, spawn_key=(1, loan_id_i))``, and the blocks depend only on the number
of scenarios, so a loan's defaults do not depend on the chunking, the number of workers or the other
loans.  Losses are summed in integer fen held in float64 (exact below 2⁵³ fen ≈ 9·10¹³ yuan per
scenario), so the totals are bit-identical whatever the order of summation.  Scenario k of the result is
the k-th lowest factor draw.

Pure module (NumPy/SciPy, no Django).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from scipy import special

from ippledge.core.money import round_yuan

from .allocation import BANK, SchemeRules
from .vasicek import basel_corporate_correlation

DEFAULT_IP_LGD = 0.675
LEVELS = (0.99, 0.999)
CHUNK_LOANS = 256
Q_SKIP = 1e-13
# Block edges as fractions of the scenarios ordered by Z: fine in the left tail, where p(Z) moves fastest.
_BLOCK_FRACTIONS = (0.0, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.035, 0.05, 0.075, 0.10, 0.15, 0.20,
                    0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90,
                    0.95, 1.0)


@dataclass(frozen=True)
class Book:
    """A book of loans as arrays of equal length n.

    ``ead`` and ``loan_amount`` in yuan; ``lgd`` a fraction (None: :data:`DEFAULT_IP_LGD`); ``rho`` a
    scalar, an array, or None for the Basel corporate correlation of each PD; ``scheme`` the index of the
    loan's scheme in the ``schemes`` given to :func:`simulate` (−1: none); ``loan_amount`` the contract
    amount the eligible base compares with (None: the EAD); ``ip_secured`` the IP-secured amount stated
    (NaN: not stated); ``loan_id`` the integer that names a loan's random stream (None: its position).
    """

    pd: np.ndarray
    ead: np.ndarray
    lgd: np.ndarray | float | None = None
    rho: np.ndarray | float | None = None
    scheme: np.ndarray | None = None
    loan_amount: np.ndarray | None = None
    ip_secured: np.ndarray | None = None
    loan_id: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pd)


@dataclass(frozen=True)
class PartyRisk:
    """One party's loss distribution: expected loss, VaR and expected shortfall per level, in yuan."""

    expected_loss: Decimal
    var: dict[float, Decimal]
    es: dict[float, Decimal]
    expected_loss_exact: Decimal  # Σ PD × share: what the simulated mean estimates


@dataclass
class PortfolioResult:
    parties: dict[str, PartyRisk]   # "bank", every scheme party ("scheme/party" or its holder), "total"
    scenarios: int
    seed: int
    levels: tuple[float, ...]
    losses_fen: np.ndarray | None = field(default=None, repr=False)  # (scenarios, columns), on request
    columns: tuple[str, ...] = ()


def _as_array(value, n: int, default: float | None = None) -> np.ndarray:
    if value is None:
        value = default
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


def eligible_fractions(rules: SchemeRules, loan_amount: np.ndarray, ip_secured: np.ndarray | None) -> np.ndarray:
    """:func:`.allocation.eligible_fraction` for many loans at once (floats)."""
    fraction = np.ones_like(loan_amount, dtype=np.float64)
    if rules.ip_portion_required:
        ip = np.full_like(fraction, np.nan) if ip_secured is None else ip_secured
        stated = np.isfinite(ip) & (ip > 0)
        fraction = np.where(stated, np.minimum(1.0, np.where(stated, ip, 0.0) / loan_amount), 0.0)
    if rules.eligible_base_cap is not None:
        cap = float(rules.eligible_base_cap)
        fraction = fraction * np.where(loan_amount > cap, cap / loan_amount, 1.0)
    return fraction


def _fen(x: np.ndarray) -> np.ndarray:
    """Yuan to whole fen, half up (amounts are never negative here)."""
    return np.floor(x * 100.0 + 0.5)


def share_table(book: Book, schemes: Mapping[str, SchemeRules] | Sequence[SchemeRules] = (), *,
                holders: Mapping[tuple[str, str], str] | None = None):
    """Per loan, what each party pays when the loan defaults: ``(columns, col, amount_fen)``.

    ``columns`` names the result columns (``"bank"`` first, then ``"<scheme>/<party>"`` or the holder a
    ``holders`` entry gives, so one insurer in several schemes is one column); ``col`` and
    ``amount_fen`` are (n, W) arrays: loan i pays ``amount_fen[i, k]`` into column ``col[i, k]``.
    The amounts of a loan add up to its loss in fen, as :func:`.allocation.allocate` does.
    """
    items = list(schemes.items()) if isinstance(schemes, Mapping) else [(str(i), r) for i, r in enumerate(schemes)]
    n = len(book)
    ead = _as_array(book.ead, n)
    lgd = _as_array(book.lgd, n, DEFAULT_IP_LGD)
    loss = _fen(ead * lgd)
    scheme = np.full(n, -1, np.int64) if book.scheme is None else np.asarray(book.scheme, np.int64)
    loan_amount = ead if book.loan_amount is None else _as_array(book.loan_amount, n)
    ip = None if book.ip_secured is None else _as_array(book.ip_secured, n)
    width = 1 + max((sum(p.kind != BANK for p in r.parties) for _, r in items), default=0)
    col = np.zeros((n, width), np.int64)
    amount = np.zeros((n, width), np.float64)
    columns = [BANK]
    index = {BANK: 0}
    paid = np.zeros(n)
    for s, (key, rules) in enumerate(items):
        rows = np.flatnonzero(scheme == s)
        if not rows.size:
            continue
        eligible = np.minimum(_fen(loss[rows] / 100.0 * eligible_fractions(rules, loan_amount[rows],
                                                                            None if ip is None else ip[rows])),
                              loss[rows])
        room = eligible.copy()
        k = 1
        for p in rules.parties:
            if p.kind == BANK:
                continue
            name = (holders or {}).get((key, p.name), f"{key}/{p.name}")
            if name not in index:
                index[name] = len(columns)
                columns.append(name)
            share = _fen(float(p.ratio) * eligible / 100.0)
            if p.per_loan_cap is not None:
                share = np.minimum(share, float(p.per_loan_cap) * 100.0)
            share = np.maximum(0.0, np.minimum(share, room))
            room -= share
            col[rows, k] = index[name]
            amount[rows, k] = share
            paid[rows] += share
            k += 1
    amount[:, 0] = loss - paid
    return tuple(columns), col, amount


def _scenario_blocks(scenarios: int) -> np.ndarray:
    edges = np.unique(np.round(np.asarray(_BLOCK_FRACTIONS) * scenarios).astype(np.int64))
    return edges


def factor_draws(seed: int, scenarios: int) -> np.ndarray:
    """The systematic factor of every scenario, in ascending order."""
    z = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0,)))).standard_normal(scenarios)
    z.sort()
    return z


def _loan_stream(seed: int, loan_id: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(1, int(loan_id)))))


def _draw_counts(q: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Gap draws per (loan, block): the mean number of successes plus one standard deviation; a block
    whose gaps run out continues in the next round, so this sets only the cost, never the result."""
    mu = length * q
    m = np.ceil(mu + np.sqrt(mu * (1.0 - q)) + 1.0)
    m = np.minimum(m, length + 1)
    return np.where(q < Q_SKIP, 0, m).astype(np.int64)


def _defaults_of_chunk(gens, t, a, b, z, start, length, q):
    """Scenario indices where each loan of a chunk defaults: (local loan index, scenario index).

    ``start``, ``length`` and ``q`` are (loans, blocks): the first scenario still to sample, how many are
    left and the block's bound.  Rounds repeat for the blocks whose gaps ran out (memoryless, exact)."""
    loans_out, scen_out = [], []
    blocks = q.shape[1]
    c0 = np.repeat(t / b, blocks)                  # per cell: p(z) = Φ(c0 − c1·z)
    c1 = np.repeat(a / b, blocks)
    cell_loan = np.repeat(np.arange(q.shape[0]), blocks)
    cap = float(len(z) + 1)
    while True:
        qf, lf, sf = q.ravel(), length.ravel(), start.ravel()
        m = _draw_counts(qf, lf)
        per_loan = m.reshape(q.shape).sum(axis=1)
        total = int(per_loan.sum())
        if total == 0:
            break
        u = np.empty((total, 2))
        offset = 0
        for j in np.flatnonzero(per_loan):
            gens[j].random(out=u[offset:offset + per_loan[j]])
            offset += per_loan[j]
        seg = np.repeat(np.arange(m.size), m)      # the (loan, block) cell of every draw
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / np.log1p(-qf)
        gaps = np.floor(np.log1p(-u[:, 0]) * inv[seg]) + 1.0
        np.minimum(gaps, cap, out=gaps)
        cum = np.cumsum(gaps)                      # integers, exact in float64
        ends = np.cumsum(m) - 1
        base = np.concatenate(([0.0], cum))[ends - m + 1]   # cumulative sum before each cell
        hit = np.flatnonzero(cum <= (base + lf)[seg])
        hs = seg[hit]
        s = (cum[hit] + (sf - base - 1.0)[hs]).astype(np.int64)
        keep = u[hit, 1] * qf[hs] < special.ndtr(c0[hs] - c1[hs] * z[s])
        loans_out.append(cell_loan[hs[keep]])
        scen_out.append(s[keep])
        # a cell whose last gap did not pass its end continues from the last success
        has = m > 0
        last = np.zeros(m.size)
        last[has] = cum[ends[has]] - base[has]
        more = has & (last < lf)
        if not more.any():
            break
        length = np.where(more, lf - last, 0).astype(np.int64).reshape(q.shape)
        start = (sf + last.astype(np.int64)).reshape(q.shape)
        q = np.where(more, qf, 0.0).reshape(q.shape)
    if not loans_out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(loans_out), np.concatenate(scen_out)


def _simulate_chunks(chunks, *, seed, ids, t, a, b, z, edges, col, amount, ncols) -> np.ndarray:
    scenarios = len(z)
    acc = np.zeros(scenarios * ncols)
    z_start = z[edges[:-1]]
    block_len = np.diff(edges)
    for rows in chunks:
        gens = [_loan_stream(seed, ids[i]) for i in rows]
        tr, ar, br = t[rows], a[rows], b[rows]
        q = special.ndtr((tr[:, None] - ar[:, None] * z_start[None, :]) / br[:, None])
        start = np.broadcast_to(edges[:-1], q.shape).copy()
        length = np.broadcast_to(block_len, q.shape).astype(np.int64)
        lj, s = _defaults_of_chunk(gens, tr, ar, br, z, start, length, q)
        if not lj.size:
            continue
        cols = col[rows][lj]
        flat = (s[:, None] * ncols + cols).ravel()
        acc += np.bincount(flat, weights=amount[rows][lj].ravel(), minlength=scenarios * ncols)
    return acc


def _tail(sorted_losses: np.ndarray, level: float) -> tuple[float, float]:
    """VaR (the smallest loss not exceeded with probability ``level``) and expected shortfall (the mean
    of the worst (1 − level) share of scenarios, at least one)."""
    n = len(sorted_losses)
    k = min(n - 1, max(0, math.ceil(level * n) - 1))
    worst = max(1, n - math.ceil(level * n))
    return float(sorted_losses[k]), float(sorted_losses[n - worst:].mean())


def _yuan(fen: float) -> Decimal:
    return round_yuan(fen / 100.0)


def simulate(book: Book, schemes: Mapping[str, SchemeRules] | Sequence[SchemeRules] = (), *, scenarios: int,
             seed: int, levels: Sequence[float] = LEVELS, holders: Mapping[tuple[str, str], str] | None = None,
             workers: int | None = None, chunk_loans: int = CHUNK_LOANS, keep_losses: bool = False,
             ) -> PortfolioResult:
    """Simulate the book's losses in ``scenarios`` scenarios and report them per party (module docstring).

    ``workers`` threads (default: the CPU count) each take every ``workers``-th chunk of ``chunk_loans``
    loans; neither changes the result.  Memory: (scenarios × parties) float64 per worker plus about
    ``chunk_loans × PD × scenarios`` draws.  ``keep_losses`` returns the (scenarios, columns) losses in fen.
    """
    n = len(book)
    if scenarios < 1:
        raise ValueError("at least one scenario")
    pd = _as_array(book.pd, n)
    if n and (np.any(~np.isfinite(pd)) or pd.min() < 0 or pd.max() > 1):
        raise ValueError("PD must lie in [0, 1]")
    rho = basel_corporate_correlation(pd) if book.rho is None else _as_array(book.rho, n)
    if n and (rho.min() < 0 or rho.max() >= 1):
        raise ValueError("the correlation must lie in [0, 1)")
    lgd = _as_array(book.lgd, n, DEFAULT_IP_LGD)
    if n and (lgd.min() < 0 or lgd.max() > 1 or np.asarray(book.ead).min() < 0):
        raise ValueError("LGD must lie in [0, 1] and EAD must not be negative")
    columns, col, amount = share_table(book, schemes, holders=holders)
    ncols = len(columns)
    ids = np.arange(n) if book.loan_id is None else np.asarray(book.loan_id, np.int64)
    with np.errstate(divide="ignore"):
        t = special.ndtri(pd)
    a, b = np.sqrt(rho), np.sqrt(1.0 - rho)
    z = factor_draws(seed, scenarios)
    edges = _scenario_blocks(scenarios)
    chunks = [np.arange(i, min(n, i + chunk_loans)) for i in range(0, n, chunk_loans)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(chunks) or 1))
    kwargs = dict(seed=seed, ids=ids, t=t, a=a, b=b, z=z, edges=edges, col=col, amount=amount, ncols=ncols)
    if workers == 1:
        acc = _simulate_chunks(chunks, **kwargs)
    else:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(lambda w: _simulate_chunks(chunks[w::workers], **kwargs), range(workers)))
        acc = np.sum(parts, axis=0)
    losses = acc.reshape(scenarios, ncols)
    total = losses.sum(axis=1)
    # exact expected loss per column: Σ_i PD_i × amount_i,k
    exact = np.bincount(col.ravel(), weights=(amount * pd[:, None]).ravel(), minlength=ncols)
    parties: dict[str, PartyRisk] = {}
    for k, name in enumerate((*columns, "total")):
        x = total if name == "total" else losses[:, k]
        ordered = np.sort(x)
        tails = {lv: _tail(ordered, lv) for lv in levels}
        parties[name] = PartyRisk(
            expected_loss=_yuan(float(x.mean())),
            var={lv: _yuan(v) for lv, (v, _) in tails.items()},
            es={lv: _yuan(e) for lv, (_, e) in tails.items()},
            expected_loss_exact=_yuan(float(exact.sum() if name == "total" else exact[k])))
    return PortfolioResult(parties=parties, scenarios=scenarios, seed=seed, levels=tuple(levels),
                           losses_fen=losses if keep_losses else None, columns=columns)
