"""Valuation benchmark (not a test): prints JSON.

Values a book of N patents with the Monte Carlo income approach (valuation-methods.md §3) at P paths
each, vectorised in memory-bounded chunks over the CPU cores (float32 arithmetic; each patent draws
from its own stream ``numpy.random.default_rng([seed, patent])``, so its result is reproducible
whatever the chunking), and beside it, in the same run, the naive per-patent pure-Python loop on a
sample of patents, with the speed-up ratio in paths per second.  An optional GPU figure is given
when cupy or jax with a GPU is present.

    python benchmarks/valuation.py [--patents 100000] [--paths 10000] [--sample 20] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(ROOT))  # the naive loop is the tests' oracle (tests/simulation_oracle.py)

import numpy as np  # noqa: E402
from tests.simulation_oracle import value_one_naive  # noqa: E402

from ippledge.valuation.engine.simulation import (  # noqa: E402
    DEFAULT_CHUNK_PATHS,
    GPU_CHUNK_PATHS,
    Book,
    available_backends,
    value_book,
)


def make_book(n: int, seed: int) -> Book:
    """A synthetic book of n patents with varied, plausible inputs (80% lognormal, 20% triangular revenue)."""
    g = np.random.default_rng(seed)
    tri = g.random(n) < 0.2
    centre = np.exp(g.uniform(np.log(2e5), np.log(5e7), n))
    sigma = g.uniform(0.1, 0.5, n)
    rev_a = np.where(tri, centre * 0.6, centre)
    rev_b = np.where(tri, centre, sigma)
    rev_c = np.where(tri, centre * 1.6, 0.0)
    s_mode = g.uniform(0.02, 0.30, n)
    r_low = g.uniform(0.08, 0.14, n)
    years = g.integers(8, 16, n)
    legal = g.integers(3, 20, n)
    short = g.integers(3, 8, n)
    life_values = np.stack([short, short + 3, short + 6], axis=1).astype(float)
    p1 = g.uniform(0.1, 0.4, n)
    p2 = g.uniform(0.3, 0.5, n)
    life_cdf = np.stack([p1, p1 + p2, np.ones(n)], axis=1)
    return Book(rev_tri=tri, rev_a=rev_a, rev_b=rev_b, rev_c=rev_c,
                g_mean=g.uniform(-0.02, 0.10, n), g_sd=g.uniform(0.0, 0.05, n),
                s_low=s_mode * 0.8, s_mode=s_mode, s_high=s_mode * 1.3,
                r_low=r_low, r_high=r_low + g.uniform(0.02, 0.06, n),
                life_values=life_values, life_cdf=life_cdf,
                nmax=np.minimum(years, legal).astype(float), hazard=g.uniform(0.0, 0.08, n),
                tax=np.where(g.random(n) < 0.5, 0.25, 0.15))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patents", type=int, default=100_000)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=20, help="patents valued by the naive loop")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=None, help="patents per chunk (default: cache-sized)")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    result: dict = {"benchmark": "valuation.monte_carlo_income_book", "python": platform.python_version(),
                    "numpy": np.__version__, "cpus": os.cpu_count(), "patents": args.patents,
                    "paths_per_patent": args.paths, "horizon_years": args.horizon, "seed": args.seed}
    started = time.perf_counter()
    book = make_book(args.patents, args.seed)
    result["book_build_s"] = round(time.perf_counter() - started, 3)

    # Warm up (imports, scipy's ndtr, thread pool) on a few patents.
    value_book(make_book(8, args.seed + 1), paths=args.paths, seed=args.seed, horizon=args.horizon)

    chunk = args.chunk or max(1, DEFAULT_CHUNK_PATHS // args.paths)
    workers = args.workers or os.cpu_count() or 1
    started = time.perf_counter()
    res = value_book(book, paths=args.paths, seed=args.seed, horizon=args.horizon, dtype=np.float32,
                     chunk_patents=chunk, workers=workers)
    seconds = time.perf_counter() - started
    total_paths = args.patents * args.paths
    vector = {"seconds": round(seconds, 3), "paths_per_second": round(total_paths / seconds),
              "dtype": "float32 (draws, arithmetic, pairwise-summed mean and std); results returned as float64",
              "chunk_patents": chunk, "workers": workers,
              "workspace_mb_per_worker": round(chunk * args.paths * (14 * 4 + 2) / 2**20, 2),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "book_mean_value_cny": round(float(res["mean"].sum()), 2),
              "book_p50_sum_cny": round(float(res["p50"].sum()), 2)}
    # Reproducibility: the first patents re-valued alone, in another chunking, give the same numbers.
    again = value_book(Book(**{k: getattr(book, k)[:5] for k in book.__dataclass_fields__}), paths=args.paths,
                       seed=args.seed, horizon=args.horizon, chunk_patents=2, workers=1)
    vector["reproducible_per_patent"] = bool(all(np.array_equal(again[k], res[k][:5])
                                                 for k in ("mean", "p10", "p50", "p90")))
    result["vectorised"] = vector

    sample = min(args.sample, args.patents)
    started = time.perf_counter()
    naive = [value_one_naive(book.spec(i), paths=args.paths, seed=args.seed + i, horizon=args.horizon)
             for i in range(sample)]
    naive_s = time.perf_counter() - started
    naive_pps = sample * args.paths / naive_s
    rel = [abs(naive[i]["mean"] - res["mean"][i]) / res["mean"][i] for i in range(sample) if res["mean"][i] > 0]
    result["naive_python_loop"] = {
        "sample_patents": sample, "seconds": round(naive_s, 3), "paths_per_second": round(naive_pps),
        "projected_book_seconds": round(total_paths / naive_pps, 1),
        "mean_abs_relative_difference_of_means_vs_vectorised": round(float(np.mean(rel)), 5) if rel else None}
    result["speedup_vs_naive"] = round(vector["paths_per_second"] / naive_pps, 1)

    backends = available_backends()
    gpu: dict = {"cupy": "not available", "jax": "not available"}
    for name in ("cupy", "jax"):
        usable = backends[name] and (name == "cupy" or backends.get("jax_device") in ("gpu", "cuda", "rocm"))
        if not usable:
            if name == "jax" and backends["jax"]:
                gpu[name] = f"not available (jax device: {backends['jax_device']})"
            continue
        gpu_chunk = min(args.patents, max(1, GPU_CHUNK_PATHS // args.paths))
        # warm-up on a book of one chunk: jax compiles for that shape once
        value_book(make_book(gpu_chunk, args.seed + 1), paths=args.paths, seed=args.seed, horizon=args.horizon,
                   backend=name, chunk_patents=gpu_chunk)
        started = time.perf_counter()
        value_book(book, paths=args.paths, seed=args.seed, horizon=args.horizon, backend=name,
                   chunk_patents=gpu_chunk)
        s = time.perf_counter() - started
        gpu[name] = {"seconds": round(s, 3), "paths_per_second": round(total_paths / s), "dtype": "float32",
                     "rng": "counter-based hash (fmix32)"}
    result["gpu"] = gpu
    result["targets"] = {"speedup_at_least_50x": result["speedup_vs_naive"] >= 50,
                         "book_within_60s": seconds <= 60}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
