"""The local job runner: bookkeeping overhead and memory (DESIGN.md stage 2 budgets).

``overhead``: the same mock steps (same samples, same batches, same order) run
twice on fresh adapters, interleaved ``--repeat`` times:

* direct: read the file, convert each chat sample, ``provider.call("tuneplug_fine_tune")``
  per batch, as a hand-written loop would;
* job: ``LocalJobs.create`` (copies the samples) then ``run`` (journal, events,
  idempotency keys), file order (no shuffle) so both send identical batches.

Budget: the job's time <= 1.05 x the direct loop's.

``memory``: a ``--samples`` chat-format JSONL file (1M by default) becomes one
job in this process: every sample validated, converted, copied and indexed; one
whole shuffled epoch of batches read back through the job's data path; then the
job trains for ``--seconds`` (the mock learns at a few hundred samples per
second, so a full 1M-sample run takes hours) with RSS sampled per step. Peak
RSS is compared with the RSS after the provider did its first step outside the
job (the provider's own). Budget: <= 100 MB over.

    python bench/jobs_runner.py overhead [--samples 20000] [--repeat 3]
    python bench/jobs_runner.py memory [--samples 1000000] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import types
from pathlib import Path
from typing import Any

OVERHEAD_BUDGET = 1.05
MEMORY_BUDGET_MB = 100.0


def write_chat(path: Path, count: int, distinct: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            k = i % distinct
            chat = {
                "messages": [
                    {"role": "user", "content": f"What is the code of item {k}?"},
                    {"role": "assistant", "content": f"Item {k} has code {k * 7 % 101}."},
                ]
            }
            fh.write(json.dumps(chat) + "\n")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def overhead(samples: int, repeat: int, batch: int) -> int:
    import tuneplug
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.samples import batched, read_samples, to_inputs

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNEPLUG_HOME"] = tmp
        path = Path(tmp) / "train.jsonl"
        write_chat(path, samples, distinct=200)
        base = tuneplug.get_model("mock/tiny")
        provider = base.provider
        template = base._training_template()
        jobs = LocalJobs(provider)

        def direct() -> float:
            adapter = base.create_adapter("direct").info
            start = time.perf_counter()
            for chunk in batched(read_samples(path), batch):
                converted = [to_inputs(s, template) for s in chunk]
                provider.call(
                    "tuneplug_fine_tune", model=adapter, samples=converted, idempotency_key=None
                )
            return time.perf_counter() - start

        def job() -> float:
            spec = tuneplug.JobSpec(model="tiny", training_data=str(path), batch_size=batch)
            start = time.perf_counter()
            made = jobs.create(spec, start="none", shuffle=False)
            done = jobs.run(made.id)
            elapsed = time.perf_counter() - start
            assert done.status is tuneplug.JobStatus.SUCCEEDED, done.error
            return elapsed

        direct()  # warm-up: imports, the base model, SQLite pages
        ratios = []
        for _ in range(repeat):
            d, j = direct(), job()
            ratios.append(j / d)
            steps = -(-samples // batch)
            print(
                f"direct {d:6.2f} s  job {j:6.2f} s  ratio {j / d:5.3f}  "
                f"({steps} steps, bookkeeping {(j - d) / steps * 1e6:+.0f} µs/step)"
            )
        null_cost(path, samples, batch)
    best = sorted(ratios)[len(ratios) // 2]
    print(f"median ratio {best:.3f} (budget {OVERHEAD_BUDGET})")
    return 0 if best <= OVERHEAD_BUDGET else 1


def null_cost(path: Path, samples: int, batch: int) -> None:
    """The runner's own µs per step (journal, events, reading the batch by offsets)."""
    import tuneplug
    from tuneplug.hookspecs import hookimpl
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.plugins import register
    from tuneplug.types import FineTuneResult, ModelInfo, ModelKind

    base = ModelInfo(id="base", provider="null", name="base")
    adapter = ModelInfo(
        id="a", provider="null", name="a", kind=ModelKind.ADAPTER, base_model_id="base"
    )

    def tuneplug_list_models(ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [base] if base_only else [base, adapter]

    def tuneplug_complete(ctx: Any, model: Any, prompt: str, options: Any) -> Any:
        raise NotImplementedError

    def tuneplug_create_adapter(
        ctx: Any, base: Any, name: str, rank: Any, learning_rate: Any
    ) -> Any:
        return adapter

    def tuneplug_fine_tune(ctx: Any, model: Any, samples: list[Any], idempotency_key: Any) -> Any:
        return FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    def tuneplug_delete_adapter(ctx: Any, model: Any) -> None:
        return None

    null = types.ModuleType("null_provider")
    for name, fn in dict(locals()).items():
        if name.startswith("tuneplug_"):
            setattr(null, name, hookimpl(fn))
    register("null", null)
    jobs = LocalJobs(tuneplug.get_model("null/a").provider)
    spec = tuneplug.JobSpec(model="a", training_data=str(path), batch_size=batch)
    made = jobs.create(spec, start="none")
    start = time.perf_counter()
    jobs.run(made.id)
    steps = -(-samples // batch)
    cost = (time.perf_counter() - start) / steps * 1e6
    print(f"runner's own cost with a step that costs nothing: {cost:.0f} µs/step ({steps} steps)")


def memory(samples: int, batch: int, seconds: float) -> int:
    import threading

    import tuneplug
    from tuneplug.jobs.data import SampleFile, permuted
    from tuneplug.jobs.local import LocalJobs

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNEPLUG_HOME"] = tmp
        path = Path(tmp) / "train.jsonl"
        start = time.perf_counter()
        write_chat(path, samples, distinct=100)  # the mock's learned state saturates fast
        took = time.perf_counter() - start
        print(
            f"wrote {samples:,} chat samples, {path.stat().st_size / 1e6:.0f} MB, in {took:.0f} s"
        )
        base = tuneplug.get_model("mock/tiny")
        warm = base.create_adapter("warm-up")
        warm.fine_tune([{"messages": [{"role": "user", "content": "hi"},
                                      {"role": "assistant", "content": "hello"}]}])  # fmt: skip
        provider_rss = rss_mb()
        jobs = LocalJobs(base.provider)
        spec = tuneplug.JobSpec(model="tiny", training_data=str(path), batch_size=batch, seed=1)
        start = time.perf_counter()
        made = jobs.create(spec, start="none")  # every sample: read, converted, copied, indexed
        print(
            f"create (validate, convert, copy, index {samples:,} samples) "
            f"{time.perf_counter() - start:.0f} s, RSS {rss_mb():.0f} MB, peak {peak_mb():.0f} MB"
        )
        # The whole epoch's data path (shuffled order, a seek per sample), as the runner reads it.
        start = time.perf_counter()
        with SampleFile(Path(tmp) / "jobs" / made.id / "train.jsonl") as copy:
            order = permuted(copy.count, 1, 0)
            for first in range(0, copy.count, batch):
                copy.batch([order[i] for i in range(first, min(copy.count, first + batch))])
        print(
            f"one shuffled epoch of batches read back: {time.perf_counter() - start:.0f} s, "
            f"RSS {rss_mb():.0f} MB, peak {peak_mb():.0f} MB"
        )
        # Training: the mock learns at a few hundred samples/s here, so the job runs for
        # `seconds`, RSS sampled as it goes, then is cancelled.
        samples_rss: list[tuple[int, float]] = []
        steps = {"n": 0}

        def count(event: tuneplug.JobEvent) -> None:
            if event.step is not None:
                steps["n"] = event.step
                samples_rss.append((event.step, rss_mb()))

        runner = threading.Thread(target=jobs.run, args=(made.id, count))
        runner.start()
        runner.join(seconds)
        jobs.cancel(made.id)
        runner.join()
        marks = samples_rss[:: max(1, len(samples_rss) // 6)] + samples_rss[-1:]
        print("RSS by step: " + ", ".join(f"{s}: {r:.0f} MB" for s, r in marks))
        peak = peak_mb()
        over = peak - provider_rss
        print(
            f"{steps['n']:,} steps ({steps['n'] * batch:,} samples) in {seconds:.0f} s; RSS of the "
            f"warmed provider {provider_rss:.0f} MB, peak RSS {peak:.0f} MB: {over:+.0f} MB over "
            f"the provider's own (budget {MEMORY_BUDGET_MB:.0f} MB)"
        )
    return 0 if over <= MEMORY_BUDGET_MB else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["overhead", "memory"])
    parser.add_argument("--samples", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=120.0, help="memory: training time")
    args = parser.parse_args()
    if args.what == "overhead":
        return overhead(args.samples or 20_000, args.repeat, args.batch_size or 8)
    return memory(args.samples or 1_000_000, args.batch_size or 64, args.seconds)


if __name__ == "__main__":
    raise SystemExit(main())
