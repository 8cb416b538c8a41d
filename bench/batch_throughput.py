"""``tuneplug batch`` at scale: wall time against N / C x latency, and peak RSS vs N.

For each N in ``--sizes`` (default 10,000 and 100,000 prompts), one run of

    tuneplug batch gradient/<id> in.jsonl -o out.jsonl -c 64 -q

in its own process against ``bench/gradient_loopback.py`` (its own process, 20 ms
per answer): wall time, the ideal ``N / 64 x 0.020 s``, their ratio (budget 1.3),
the client's CPU time per prompt and its peak RSS (``wait4``), so memory can be
compared between sizes. ``--ray`` then runs the largest N through Ray Data on this
machine (``map_batches(TuneplugBatch, ...)``, ``--actors`` actors of 64 in flight
each) and reports its wall time as a ratio to the single-process run.

Each round also runs a one-prompt batch (what process start, imports and exit cost
on their own) and the bare ``acomplete`` loop in a process of its own, so every
ratio is taken against the raw library in the same round; the tables give medians
of the per-round ratios, with the load average. ``--baseline DIR`` also runs another
checkout's ``tuneplug batch`` (its ``core/src`` and ``plugins/*/src`` first on
``PYTHONPATH``) in every round, for a before/after comparison under the same load.
Before measuring, the sources are compiled to bytecode (``compileall``), as an
installed wheel or any earlier run would have them; an editable install under
``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module at every start.

    python bench/batch_throughput.py [--sizes 10000 100000] [--repeat 3] [--ray] [--actors 1]
                                     [--baseline DIR]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gradient_loopback import start

MODEL_ID = "674119b5-f19e-4856-add2-767ae7f7d7ef_model_adapter"
LATENCY = 0.020
BUDGET = 1.3


def write_inputs(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"custom_id": f"q{i}", "prompt": f"Question {i}: what is 2+2?"}))
            fh.write("\n")


def sources(root: Path) -> list[Path]:
    """A checkout's importable source directories: ``core/src`` and each plugin's ``src``."""
    return [root / "core" / "src", *sorted(root.glob("plugins/*/src"))]


def compile_sources(root: Path) -> None:
    """Bytecode for every module of the checkout, as ``pip install`` writes it."""
    for path in sources(root):
        compileall.compile_dir(path, quiet=1)


def env_for(port: int, concurrency: int, root: Path | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "GRADIENT_API_URL": f"http://127.0.0.1:{port}/api",
        "GRADIENT_ACCESS_TOKEN": "bench-token-0123456789",
        "GRADIENT_WORKSPACE_ID": "bench_workspace",
        "GRADIENT_MAX_CONNECTIONS": str(concurrency),
    }
    if root is not None:  # another checkout's packages shadow the installed ones
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in sources(root))
    return env


def run_cli(
    work: Path, n: int, port: int, concurrency: int, root: Path | None = None
) -> dict[str, Any]:
    inp, out = work / f"in-{n}.jsonl", work / f"out-{n}.jsonl"
    if not inp.exists():
        write_inputs(inp, n)
    out.unlink(missing_ok=True)
    argv = [
        sys.executable, "-m", "tuneplug", "batch", f"gradient/{MODEL_ID}", str(inp),
        "-o", str(out), "-c", str(concurrency), "-q", "--max-tokens", "16", "--json",
    ]  # fmt: skip
    wall = time.perf_counter()
    proc = subprocess.Popen(argv, env=env_for(port, concurrency, root), stdout=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - wall
    assert proc.stdout is not None
    summary = json.loads(proc.stdout.read())
    if status != 0 or summary["succeeded"] != n:
        raise SystemExit(f"batch run failed: status {status}, {summary}")
    lines = sum(1 for _ in out.open())
    assert lines == n, (lines, n)
    ideal = n / concurrency * LATENCY
    return {
        "n": n, "wall": wall, "ideal": ideal, "ratio": wall / ideal,
        "engine": summary["seconds"], "engine_ratio": summary["seconds"] / ideal,
        "cpu_us": (usage.ru_utime + usage.ru_stime) / n * 1e6,
        "rss_mb": usage.ru_maxrss / 1024,  # Linux: kilobytes
    }  # fmt: skip


RAW = """
import asyncio, sys, time, tuneplug
n, c = int(sys.argv[1]), int(sys.argv[2])
model = tuneplug.get_model("gradient/" + sys.argv[3])
async def main():
    prompts = iter(range(n))
    async def worker():
        for i in prompts:
            await model.acomplete(f"Question {i}: what is 2+2?", max_tokens=16)
    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    print(time.perf_counter() - t)
asyncio.run(main())
"""


def run_raw(n: int, port: int, concurrency: int) -> dict[str, Any]:
    """The same requests from a bare asyncio loop over ``acomplete``: no files, no engine."""
    wall = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", RAW, str(n), str(concurrency), MODEL_ID],
        env=env_for(port, concurrency), stdout=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - wall
    assert proc.stdout is not None and status == 0
    inner = float(proc.stdout.read())
    return {"wall": wall, "engine": inner, "cpu_us": (usage.ru_utime + usage.ru_stime) / n * 1e6,
            "rss_mb": usage.ru_maxrss / 1024}  # fmt: skip


def run_ray(work: Path, n: int, port: int, concurrency: int, actors: int) -> dict[str, Any]:
    import ray
    from tuneplug.ray import TuneplugBatch

    ray.init(num_cpus=max(2, actors), include_dashboard=False, log_to_driver=False,
             logging_level="ERROR", _node_ip_address="127.0.0.1")  # fmt: skip
    ray.data.DataContext.get_current().enable_progress_bars = False
    settings = {
        "api_url": f"http://127.0.0.1:{port}/api", "access_token": "bench-token-0123456789",
        "workspace_id": "bench_workspace", "max_connections": concurrency,
    }  # fmt: skip
    inp = work / f"in-{n}.jsonl"
    try:
        wall = time.perf_counter()
        ds = ray.data.read_json(str(inp)).map_batches(
            TuneplugBatch,
            fn_constructor_kwargs={"model": f"gradient/{MODEL_ID}", "settings": settings,
                                   "concurrency": concurrency, "max_tokens": 16},
            compute=ray.data.ActorPoolStrategy(size=actors), batch_size=4096,
        )  # fmt: skip
        done = failed = 0
        for batch in ds.iter_batches(batch_size=4096, batch_format="pandas"):
            done += len(batch)
            failed += int(batch["error"].notna().sum())
        wall = time.perf_counter() - wall
    finally:
        ray.shutdown()
    if done != n or failed:
        raise SystemExit(f"ray run: {done} rows, {failed} failed, expected {n}")
    ideal = n / (concurrency * actors) * LATENCY
    return {"n": n, "wall": wall, "ideal": ideal, "ratio": wall / ideal, "actors": actors}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _ratio(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str, other: str = "") -> float:
    """Median of the per-round ratios ``a[key] / b[other or key]``: a load swing hits both."""
    return float(statistics.median(x[key] / y[other or key] for x, y in zip(a, b, strict=True)))


def measure(args: argparse.Namespace, work: Path, port: int, n: int) -> dict[str, Any]:
    """``--repeat`` interleaved rounds for ``n`` prompts: batch, start-only, raw, baseline."""
    c = args.concurrency
    cli, start, raw, base = [], [], [], []
    for _ in range(args.repeat):  # interleaved: all see the same machine load
        cli.append(run_cli(work, n, port, c))
        start.append(run_cli(work, 1, port, c))
        raw.append(run_raw(n, port, c))
        if args.baseline is not None:
            base.append(run_cli(work, n, port, c, args.baseline))
    return {"n": n, "cli": cli, "start": start, "raw": raw, "base": base}


def report(m: dict[str, Any], concurrency: int) -> None:
    cli, start, raw, base = m["cli"], m["start"], m["raw"], m["base"]
    n, ideal = m["n"], m["n"] / concurrency * LATENCY
    print(f"\n{n:,} prompts, ideal {ideal:.3f} s; medians of {len(cli)} round(s)")
    print("| | wall s | x ideal | engine s | engine x ideal | cpu µs/prompt | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for name, runs in (("tuneplug batch", cli), ("baseline batch", base)):
        if runs:
            print(
                f"| {name} | {_median(runs, 'wall'):.3f} | {_median(runs, 'ratio'):.3f} | "
                f"{_median(runs, 'engine'):.3f} | {_median(runs, 'engine_ratio'):.3f} | "
                f"{_median(runs, 'cpu_us'):.0f} | {max(r['rss_mb'] for r in runs):.1f} |"
            )
    print(
        f"| raw acomplete loop (own process) | {_median(raw, 'wall'):.3f} | "
        f"{_median(raw, 'wall') / ideal:.3f} | {_median(raw, 'engine'):.3f} | "
        f"{_median(raw, 'engine') / ideal:.3f} | {_median(raw, 'cpu_us'):.0f} | "
        f"{max(r['rss_mb'] for r in raw):.1f} |"
    )
    one = _median(start, "wall")
    print(
        f"process start + exit (a one-prompt batch): {one:.3f} s wall, "
        f"{_median(start, 'cpu_us') / 1000:.0f} ms CPU = {one / ideal:.3f} x ideal"
    )
    print(
        f"ratios to the raw library, same rounds: batch wall / raw process wall "
        f"{_ratio(cli, raw, 'wall'):.3f}; "
        f"batch engine / raw loop {_ratio(cli, raw, 'engine'):.3f}; "
        f"CPU {_ratio(cli, raw, 'cpu_us'):.3f}"
    )
    if base:
        print(
            f"ratios to the baseline, same rounds: wall {_ratio(cli, base, 'wall'):.3f}; "
            f"engine {_ratio(cli, base, 'engine'):.3f}; CPU {_ratio(cli, base, 'cpu_us'):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds per size")
    parser.add_argument("--ray", action="store_true", help="also run the largest size on Ray")
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    compile_sources(Path(__file__).resolve().parent.parent)
    if args.baseline is not None:
        compile_sources(args.baseline)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory() as tmp, start(LATENCY * 1000) as port:
        work = Path(tmp)
        runs = [measure(args, work, port, n) for n in args.sizes]
        for m in runs:
            report(m, args.concurrency)
        print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if len(runs) > 1:
            small, large = runs[0]["cli"], runs[-1]["cli"]
            print(
                f"peak RSS {runs[-1]['n']:,} vs {runs[0]['n']:,}: "
                f"{max(r['rss_mb'] for r in large) / max(r['rss_mb'] for r in small):.2f}x"
            )
        if args.ray:
            r = run_ray(work, args.sizes[-1], port, args.concurrency, args.actors)
            single = _median(runs[-1]["cli"], "wall")
            print(
                f"ray data ({r['actors']} actor(s) x {args.concurrency}): {r['wall']:.2f} s "
                f"= {r['wall'] / single:.2f}x the single-process run "
                f"({r['ratio']:.2f}x its ideal {r['ideal']:.2f} s)"
            )


if __name__ == "__main__":
    main()
