"""``tuneplug batch`` at scale: wall time against N / C x latency, and peak RSS vs N.

For each N in ``--sizes`` (default 10,000 and 100,000 prompts), one run of

    tuneplug batch gradient/<id> in.jsonl -o out.jsonl -c 64 -q

in its own process against ``bench/gradient_loopback.py`` (its own process, 20 ms
per answer): wall time, the ideal ``N / 64 x 0.020 s``, their ratio (budget 1.3),
the client's CPU time per prompt and its peak RSS (``wait4``), so memory can be
compared between sizes. ``--ray`` then runs the largest N through Ray Data on this
machine (``map_batches(TuneplugBatch, ...)``, ``--actors`` actors of 64 in flight
each) and reports its wall time as a ratio to the single-process run.

    python bench/batch_throughput.py [--sizes 10000 100000] [--repeat 3] [--ray] [--actors 1]
"""

from __future__ import annotations

import argparse
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


def env_for(port: int, concurrency: int) -> dict[str, str]:
    return {
        **os.environ,
        "GRADIENT_API_URL": f"http://127.0.0.1:{port}/api",
        "GRADIENT_ACCESS_TOKEN": "bench-token-0123456789",
        "GRADIENT_WORKSPACE_ID": "bench_workspace",
        "GRADIENT_MAX_CONNECTIONS": str(concurrency),
    }


def run_cli(work: Path, n: int, port: int, concurrency: int) -> dict[str, Any]:
    inp, out = work / f"in-{n}.jsonl", work / f"out-{n}.jsonl"
    write_inputs(inp, n)
    out.unlink(missing_ok=True)
    argv = [
        sys.executable, "-m", "tuneplug", "batch", f"gradient/{MODEL_ID}", str(inp),
        "-o", str(out), "-c", str(concurrency), "-q", "--max-tokens", "16", "--json",
    ]  # fmt: skip
    wall = time.perf_counter()
    proc = subprocess.Popen(argv, env=env_for(port, concurrency), stdout=subprocess.PIPE)
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


def _median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved runs per size")
    parser.add_argument("--ray", action="store_true", help="also run the largest size on Ray")
    parser.add_argument("--actors", type=int, default=1)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, start(LATENCY * 1000) as port:
        work = Path(tmp)
        rows, raws = [], []
        for n in args.sizes:
            cli_runs, raw_runs = [], []
            for _ in range(args.repeat):  # interleaved: both see the same machine load
                cli_runs.append(run_cli(work, n, port, args.concurrency))
                raw_runs.append(run_raw(n, port, args.concurrency))
            rows.append(_median_run(cli_runs, "wall"))
            raws.append(_median_run(raw_runs, "engine"))
            rows[-1]["rss_mb"] = max(r["rss_mb"] for r in cli_runs)
            # Per-round ratios, then their median: a load swing hits both runs of a round.
            pairs = list(zip(cli_runs, raw_runs, strict=True))
            rows[-1]["vs_raw"] = statistics.median(c["engine"] / r["engine"] for c, r in pairs)
            rows[-1]["cpu_vs_raw"] = statistics.median(c["cpu_us"] / r["cpu_us"] for c, r in pairs)
        print(f"medians of {args.repeat} run(s); peak RSS: the largest of the runs")
        print("| prompts | wall s | ideal s | x ideal | engine s | engine x ideal | cpu µs/prompt"
              " | peak RSS MB |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['n']:,} | {r['wall']:.2f} | {r['ideal']:.2f} | {r['ratio']:.2f} | "
                  f"{r['engine']:.2f} | {r['engine_ratio']:.2f} | {r['cpu_us']:.0f} | "
                  f"{r['rss_mb']:.1f} |")  # fmt: skip
        print("\nraw asyncio loop over acomplete (same N, same server), for reference:")
        for r, raw in zip(rows, raws, strict=True):
            print(f"  {r['n']:,}: {raw['engine']:.2f} s in-loop, {raw['cpu_us']:.0f} µs/prompt, "
                  f"peak RSS {raw['rss_mb']:.1f} MB; tuneplug batch in-engine = "
                  f"{r['vs_raw']:.2f}x raw (CPU {r['cpu_vs_raw']:.2f}x), median of "
                  f"per-round ratios")  # fmt: skip
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if len(rows) > 1:
            print(f"peak RSS {rows[-1]['n']:,} vs {rows[0]['n']:,}: "
                  f"{rows[-1]['rss_mb'] / rows[0]['rss_mb']:.2f}x")  # fmt: skip
        if args.ray:
            r = run_ray(work, args.sizes[-1], port, args.concurrency, args.actors)
            single = rows[-1]["wall"]
            print(f"ray data ({r['actors']} actor(s) x {args.concurrency}): {r['wall']:.2f} s "
                  f"= {r['wall'] / single:.2f}x the single-process run "
                  f"({r['ratio']:.2f}x its ideal {r['ideal']:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
