"""Benchmarks (`make bench`): every workload beside a bare-NumPy kernel (benchmarks/kernels.py).

Writes ``benchmarks/results/latest.json`` (times, ratios to the kernels, peak memory, the load
average of the shared machine before each figure) and prints the Markdown table the README shows.

Workloads:

- ``asem``    COINr's ASEM replay (1,000 runs: COINr's own design; 10,000 runs: a uniform design of
              the same factors), full pipeline per variant from a cold start (denominate → impute →
              Winsorise × 5 → normalise × 2 → aggregate × 2 × 100 weight sets); kernel from the raw data.
- ``default`` the default framework and uncertainty spec, 1e3 … 1e6 runs; cold (every stage of
              every variant computed) and warm (variants prepared); kernel: the warm per-run work.
- ``county``  synthetic 2,844 × 60 and 30,000 × 60 panels, 1,000 runs, each in its own process
              (peak RSS = ``ru_maxrss``); warm time against the kernel's.
- ``cli``     ``compute-index --help``, ``run``, ``publish``, ``verify`` (wall time of a subprocess);
              floor: ``python -c "import numpy, pandas"``.
- ``bounds``  exact rank bounds of the 2024 default edition (``compute-index bounds``: build,
              bounds, 1,000 Monte Carlo draws, verification re-runs, reversals), in the library
              and end to end as a subprocess (includes start-up); target ≤ 5 s.

Timings are the best of several repeats (wall clock; CPU time beside it); nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import kernels  # noqa: E402

from index import framework as fwmod  # noqa: E402
from index.analysis import spec as sp  # noqa: E402
from index.analysis.uncertainty import Evaluator  # noqa: E402
from index.coinr import load_coinr  # noqa: E402
from index.config import Config  # noqa: E402
from index.dataset import Dataset, load_inputs  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SHARED = Path(os.environ.get("COMPUTE_INDEX_SHARED", ROOT.parent / "shared"))
if not (SHARED / "oracle").is_dir():
    SHARED = Path("/work/shared")
BIN = Path(sys.executable).parent
COINR_SECONDS = 116.6


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def machine() -> dict:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def cpu_time() -> float:
    """CPU seconds of this process and of its finished children (the CLI subprocesses)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object], repeat: int) -> dict:
    """Best and median wall time of ``repeat`` calls, the least CPU time of a call (and that of
    the best call), and the 1-minute load average before the first (on a shared machine CPU
    time shows the cost without waiting for other processes)."""
    return timed_alternately([fn], repeat)[0]


def timed_alternately(fns: Sequence[Callable[[], object]], repeat: int) -> list[dict]:
    """:func:`timed` of each of ``fns``, called in turn ``repeat`` times, the order reversed
    every other round (a, b, b, a, a, b, …), so that workloads compared with each other meet
    the same drift of the machine's speed and none always follows another (the one after a
    publication pays for the kernel writing its files back to disk)."""
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    load1 = os.getloadavg()[0]
    for r in range(repeat):
        order = list(enumerate(fns))
        for k, fn in order if r % 2 == 0 else reversed(order):
            t, c = time.perf_counter(), cpu_time()
            fn()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(cpu_time() - c)
    out = []
    for w, c in zip(wall, cpu, strict=True):
        best = int(np.argmin(w))
        out.append(
            {
                "best_s": w[best],
                "median_s": statistics.median(w),
                "cpu_s": min(c),
                "cpu_s_of_best": c[best],
                "load": round(load1, 2),
            }
        )
    return out


def one_thread(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` with BLAS on one thread, as the evaluator runs (threads only add overhead to these
    small products on a shared 2-core machine). The thread pools are inspected once, as the
    evaluator does: ``threadpool_limits`` inspects every loaded library on each call (~2 ms,
    which would be counted as the kernel's time)."""
    pools = ThreadpoolController()

    def call() -> object:
        with pools.limit(limits=1, user_api="blas"):
            return fn()

    return call


def row(name: str, ours: dict, floor: dict | None, **extra) -> dict:
    out = {"workload": name, "ours": ours, "kernel": floor, **extra}
    if floor:
        out["ratio"] = ours["best_s"] / floor["best_s"]
        out["cpu_ratio"] = ours["cpu_s"] / max(floor["cpu_s"], 1e-9)
    return out


# ---- ASEM --------------------------------------------------------------------------------------
def asem_case():
    oracle = SHARED / "oracle" / "coinr"
    fw, ds = load_coinr(oracle / "input_iData.csv", oracle / "input_iMeta.csv")
    base = Config.model_validate(
        {
            "impute": {"method": "mean_grp", "group": "EurAsia_group"},
            "treat": {"method": "winsorise", "winmax": 5},
            "normalise": {"method": "minmax", "l": 0, "u": 100},
        }
    )
    read = lambda f: pd.read_csv(oracle / f, keep_default_na=False, na_values=[""])  # noqa: E731
    sets = read("ua_noisy_weights_100sets.csv").pivot(index="set", columns="iCode", values="Weight")
    norms = [{"method": "minmax", "l": 1, "u": 100}, {"method": "zscore", "m": 10, "s": 2}]
    design = sp.Design(
        (
            sp.config_factor("Winmax", "treat.winmax", [1, 2, 3, 4, 5], base),
            sp.config_factor("Normalisation", "normalise", norms, base),
            sp.weight_sets("Weights", fw, sets.loc[:, fw.codes].to_numpy()),
            sp.config_factor("Aggregation", "aggregation.method", ["amean", "gmean"], base),
        )
    )
    plan = read("ua_N1000_design.csv")
    alts = plan[["Winmax_index", "Normalisation_index", "Weights_index", "Aggregation_index"]]
    return base, ds, fw, design, alts.to_numpy() - 1


def asem_arrays(ds: Dataset, fw: fwmod.Framework, design: sp.Design, alts: np.ndarray) -> dict:
    """Plain arrays for the kernel (extracted before timing)."""
    raw = ds.select([i.data_series for i in fw.indicators])[-1]
    cols = [k for k, i in enumerate(fw.indicators) if i.denominator]
    den = ds.select([fw.indicators[k].denominator for k in cols])[-1]
    scale = np.array([fw.indicators[k].scale for k in cols])
    parent = np.asarray(fw.parent_idx)
    return {
        "raw": raw,
        "den_cols": cols,
        "den": den,
        "scale": scale,
        "groups": np.asarray(ds.group_codes("EurAsia_group")),
        "directions": fw.directions,
        "weights": fw.nominal_weights(),
        "multipliers": design.factors[2].multipliers,
        "winmax": [1, 2, 3, 4, 5],
        "parent": parent,
        "anc": kernels.ancestors(parent, fw.n_indicators),
        "alts": alts,
    }


def asem(repeat: int) -> list[dict]:
    base, ds, fw, design, plan = asem_case()
    rows = []
    rng = np.random.default_rng(1)
    for runs in (1_000, 10_000):
        alts = plan if runs == 1_000 else rng.integers(0, design.n_alts, size=(runs, 4))
        arrays = asem_arrays(ds, fw, design, alts)

        def replay(alts=alts):  # a fresh evaluator: every stage of every variant is recomputed
            return Evaluator(base, ds, fw, design).run(alts, progress=False, keep_scores=True)

        got = replay().scores
        want = kernels.asem(arrays)
        diff = float(np.max(np.abs(got - want) / np.abs(want)))
        ours = timed(replay, repeat)
        floor = timed(one_thread(lambda a=arrays: kernels.asem(a)), repeat)
        rows.append(
            row(
                f"ASEM replay {runs:,} runs (cold)",
                ours,
                floor,
                max_rel_diff_vs_kernel=diff,
                speedup_vs_coinr=COINR_SECONDS * runs / 1000 / ours["best_s"],
            )
        )
    return rows


# ---- warm kernels from a prepared evaluator ---------------------------------------------------------
def warm_arrays(ev: Evaluator, alts: np.ndarray) -> dict:
    """The prepared variants' data, weights and runs as plain arrays for :func:`kernels.warm`."""
    from index.analysis.uncertainty import _groups

    fw = ev.fw
    parent = np.asarray(fw.parent_idx)
    kids_of = {fw.codes[p]: k for p, k in fw.groups}
    variants = []
    cfg_cols = [k for k, f in enumerate(ev.design.factors) if f.stage != "weights"]
    for key, runs in _groups(alts[:, cfg_cols], ev.design.n_alts[cfg_cols]):
        v = ev.variant(key)
        w = v.weights.copy()
        for code, shared in v.shared.items():
            w[kids_of[code]] = shared
        methods = {v.options["method"](fw.level[fw.codes[p]]) for p, _ in fw.groups}
        assert methods <= {"amean"} or methods <= {"gmean"}, methods
        variants.append(
            {
                "runs": runs,
                "xn": v.xn,
                "weights": w,
                "gmean": methods == {"gmean"},
                "complete": not np.isnan(v.xn).any(),
            }
        )
    return {
        "parent": parent,
        "anc": kernels.ancestors(parent, fw.n_indicators),
        "groups": list(fw.groups),
        "n_ind": fw.n_indicators,
        "units": len(ev.data.unit_codes),
        "mult": ev.multipliers(alts),
        "variants": variants,
        "nominal_ranks": ev.nominal_ranks,
    }


def default_dataset() -> Dataset:
    processed = ROOT / "data" / "processed" / "inputs.parquet"
    if processed.is_file():
        return load_inputs(processed)
    from index.etl.ingest import ingest

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "inputs.parquet"
        ingest(ROOT / "data" / "raw", out)
        return load_inputs(out)


def default(repeat: int, sizes: list[int]) -> list[dict]:
    ds, cfg = default_dataset(), Config()
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    spec, source = sp.load()
    spec = spec.model_copy(update={"sampling": spec.sampling.model_copy(update={"method": "mc"})})
    design = sp.resolve(spec, cfg, fw, source)
    rows = []
    for runs in sizes:
        alts = design.alternatives(design.uniform(runs, 1))
        rep = repeat if runs < 1_000_000 else 1
        cold = timed(lambda a=alts: Evaluator(cfg, ds, fw, design).run(a, progress=False), rep)
        ev = Evaluator(cfg, ds, fw, design)
        got = ev.run(alts, progress=False, keep_scores=True).scores if runs <= 100_000 else None
        arrays = warm_arrays(ev, alts)
        warm = timed(lambda a=alts, ev=ev: ev.run(a, progress=False), rep)
        floor = timed(one_thread(lambda a=arrays: kernels.warm(a)), rep)
        extra = {"cold": cold, "replicates_per_s_warm": runs / warm["best_s"]}
        if got is not None:
            want = kernels.warm(arrays)
            extra["max_rel_diff_vs_kernel"] = float(np.nanmax(np.abs(got - want) / np.abs(want)))
        rows.append(row(f"default framework {runs:,} runs (warm)", warm, floor, **extra))
    return rows


# ---- county panels (one process each, for the peak RSS) ----------------------------------------------
def county_case(n_units: int = 2844, n_ind: int = 60, seed: int = 0):
    """Synthetic TEST data: 60 indicators → 12 sub-pillars → 4 pillars → index, lognormal, 2 % NaN."""
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0.0, rng.uniform(0.3, 1.5, n_ind), size=(1, n_units, n_ind))
    values[rng.random(values.shape) < 0.02] = np.nan
    inds = [f"x{j:02d}" for j in range(n_ind)]
    subs = [f"s{k:02d}" for k in range(12)]
    pillars = [f"p{k}" for k in range(4)]
    fw = fwmod.from_dict(
        {
            "index": {"code": "county_index"},
            "aggregate": [{"code": p, "parent": "county_index"} for p in pillars]
            + [{"code": s, "parent": pillars[k // 3]} for k, s in enumerate(subs)],
            "indicator": [
                {"code": c, "parent": subs[j // 5], "direction": -1 if j % 7 == 0 else 1}
                for j, c in enumerate(inds)
            ],
        }
    )
    codes = tuple(f"{k:06d}" for k in range(n_units))
    units = pd.DataFrame(
        {"name_zh": list(codes), "name_en": list(codes)}, index=pd.Index(codes, name="unit")
    )
    ds = Dataset(values, (2024,), codes, tuple(inds), units, source="synthetic county")
    cfg = Config(denominate=False, normalise={"method": "minmax", "l": 1, "u": 100})
    spec = sp.Spec.model_validate(
        {
            "sampling": {"method": "mc", "n": 1_000, "seed": 1},
            "factors": {
                "treat": [{"method": "none"}, {"method": "winsorise", "winmax": 3}],
                "normalise": [{"method": "minmax", "l": 1, "u": 100}, {"method": "rank"}],
                "aggregation": {"method": ["amean", "gmean"]},
            },
            "weights": [{"name": "w", "levels": [1, 2, 3], "noise": 0.25, "sets": 500}],
        }
    )
    return cfg, ds, fw, sp.resolve(spec, cfg, fw)


def peak_rss_gib() -> float:
    """This process's peak resident memory (VmHWM: counted from its own exec, unlike
    ``ru_maxrss``, which a child inherits from the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20  # kB → GiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def county_child(units: int, runs: int, repeat: int) -> dict:
    """Runs in its own process: cold analysis (peak RSS), then warm time against the kernel."""
    cfg, ds, fw, design = county_case(units)
    alts = design.alternatives(design.uniform(runs, 1))
    load1 = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    ev = Evaluator(cfg, ds, fw, design)
    out = ev.run(alts, progress=False)
    cold = {
        "best_s": time.perf_counter() - t,
        "median_s": time.perf_counter() - t,
        "cpu_s": time.process_time() - c,
        "load": round(load1, 2),
    }
    peak = peak_rss_gib()
    out.rank_stats  # noqa: B018 - the summary is part of the analysis
    warm = timed(lambda: ev.run(alts, progress=False), repeat)
    two = timed(lambda: ev.run(alts, progress=False, jobs=2), repeat)  # joblib processes
    arrays = warm_arrays(ev, alts)
    floor = timed(one_thread(lambda: kernels.warm(arrays)), repeat)
    return row(
        f"county {units:,} × 60, {runs:,} runs (warm)",
        warm,
        floor,
        cold=cold,
        jobs_2=two,
        jobs_2_speedup=warm["best_s"] / two["best_s"],
        peak_rss_GiB_cold_run=peak,
        chunk=ev.chunk,
    )


def county(repeat: int, runs: int, sizes: list[int]) -> list[dict]:
    rows = []
    for units in sizes:
        cmd = [sys.executable, __file__, "--child", str(units), str(runs), str(repeat)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(res.stdout.splitlines()[-1]))
    return rows


# ---- exact rank bounds (not against a kernel: a MILP per unit) ------------------------------------
def bounds_case(repeat: int) -> dict:
    import resource
    import subprocess

    from index.pipeline import build

    ds = default_dataset()
    year = 2024 if 2024 in ds.years else None

    def library(overrides: tuple[str, ...] = ()):
        b = build(Config().with_overrides(list(overrides)), ds)
        c = b.claims(0.5, year=year)
        c.table()
        c.bound_weights()
        if not c.nonlinear:
            c.reversals()
        return c

    c = library()
    exact = library(("impute=mean",))
    processed = ROOT / "data" / "processed" / "inputs.parquet"
    cli = [sys.executable, "-c", "from index.cli import app; app()", "bounds", "-q"]
    cli += ["--data", str(processed)]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [*cli, "--out", str(Path(tmp) / "b.parquet")] + (
            ["--year", str(year)] if year else []
        )

        child_cpu: list[float] = []

        def run_cli():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            child_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

        t_cli = timed(run_cli, repeat) if processed.is_file() else None
        if t_cli is not None:
            t_cli["subprocess_cpu_s"] = child_cpu
    return {
        "year": c.year,
        "units": int(c.ranked.sum()),
        "method_default": c.bounds.method,
        "library_default": timed(library, repeat),
        "library_complete_data_exact_path": timed(lambda: library(("impute=mean",)), repeat),
        "method_complete_data": exact.bounds.method,
        "cli_end_to_end": t_cli,
        "target_s": 5.0,
    }


def bounds(repeat: int) -> list[dict]:
    """The exact-rank-bounds workload as a table row (end to end through the CLI) and its detail."""
    out = bounds_case(repeat)
    cli = out["cli_end_to_end"] or out["library_default"]
    return [row("compute-index bounds (2024 default)", cli, None, detail=out)]


# ---- command line ------------------------------------------------------------------------------------
def cli(repeat: int) -> list[dict]:
    exe = str(BIN / "compute-index")
    # bytecode cached as on a user's machine (any value of the variable, even "0", disables it)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    tmp = Path(tempfile.mkdtemp(prefix="bench-pub-"))
    try:

        def call(*args: str) -> Callable[[], None]:
            return lambda: subprocess.run(
                [exe, *args], cwd=ROOT, env=env, check=True, capture_output=True
            )

        floor = timed(
            lambda: subprocess.run([sys.executable, "-c", "import numpy, pandas"], check=True),
            repeat,
        )
        rows = [
            row("compute-index --help", timed(call("--help"), repeat), floor),
            row("compute-index run", timed(call("run"), repeat), floor),
        ]
        out = tmp / "pub"

        def publish() -> None:
            shutil.rmtree(out, ignore_errors=True)
            call("publish", "--out", str(out))()

        publish()
        folder = next(p for p in out.iterdir() if p.is_dir()) if out.is_dir() else out
        pub, ver = timed_alternately([publish, call("verify", str(folder))], repeat)
        rows.append(row("compute-index publish", pub, None))
        rows.append(
            row(
                "compute-index verify",
                ver,
                None,
                verify_over_publish=ver["best_s"] / pub["best_s"],
                verify_cpu_over_publish=ver["cpu_s"] / pub["cpu_s"],
            )
        )
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table(rows: list[dict]) -> str:
    """The README table: wall and CPU seconds of ours and of the kernel, both ratios."""
    lines = [
        "| workload | ours wall (s) | ours CPU (s) | kernel wall (s) | kernel CPU (s) "
        "| ratio wall | ratio CPU | peak RSS | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        o, k = r["ours"], r.get("kernel")
        peak = f"{r['peak_rss_GiB_cold_run']:.2f} GiB" if "peak_rss_GiB_cold_run" in r else ""
        if k:
            floor = (
                f"{k['best_s']:.4f} | {k['cpu_s']:.4f} | {r['ratio']:.1f}× | {r['cpu_ratio']:.1f}×"
            )
        elif "verify_over_publish" in r:
            floor = f"– | – | {r['verify_over_publish']:.2f}× publish | "
            floor += f"{r['verify_cpu_over_publish']:.2f}× publish"
        else:
            floor = "– | – | | "
        lines.append(
            f"| {r['workload']} | {o['best_s']:.3f} | {o['cpu_s']:.3f} | {floor} | {peak} "
            f"| {o['load']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=["asem", "default", "county", "cli"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and repeats (a smoke test)"
    )
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.child:
        print(json.dumps(county_child(*args.child)))
        return
    repeat = 2 if args.quick else args.repeat
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    jobs = {
        "asem": lambda: asem(max(repeat, 20)),  # milliseconds: many repeats are cheap
        "default": lambda: default(repeat, sizes),
        "county": lambda: county(min(repeat, 2), 1_000, [2_844] if args.quick else [2_844, 30_000]),
        "cli": lambda: cli(min(repeat, 3)),
        "bounds": lambda: bounds(min(repeat, 3)),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    result = {"machine": machine(), "cases": previous.get("cases", {})}
    for case in args.cases:
        result["cases"][case] = jobs[case]()
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = [r for case in result["cases"].values() for r in case]
    print(table(rows))


if __name__ == "__main__":
    main()
