"""Exactly-once under fire: ``kill -9`` a detached mock job at random moments, resume, repeat.

A detached job (its own process, ``python -m tuneplug jobs resume ID --worker``)
is killed with SIGKILL ``--kills`` times at random moments while it trains;
after each kill it is resumed detached again. At the end its adapter's weights,
step count and per-step losses must equal those of an uninterrupted run of the
same spec and seed. Reports how many kills landed mid-job and how many left a
step journalled started-not-done (the step the mock's idempotency key saved).

    python bench/jobs_kill.py [--kills 30] [--seed 1]

Slow by design (each resume starts a Python process): about a minute.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNEPLUG_HOME"] = tmp
        os.environ["TUNEPLUG_MOCK_LATENCY_MS"] = "2"  # steps long enough to be hit mid-way
        return run(args.kills, args.steps, rng)


def run(kills: int, steps: int, rng: random.Random) -> int:
    import tuneplug
    from tuneplug.jobs.local import LocalJobs
    from tuneplug_mock.settings import MockSettings
    from tuneplug_mock.store import AdapterStore

    samples = [f"Question: item {i}?\n\nAnswer: item {i} is {i * 7 % 13}." for i in range(50)]
    base = tuneplug.get_model("mock/tiny")
    jobs = LocalJobs(base.provider)
    spec = tuneplug.JobSpec(
        model="tiny", training_data=samples, batch_size=2, n_epochs=-(-steps // 25), seed=3
    )
    started = time.perf_counter()
    job = jobs.create(spec, start="detach")
    job_dir = jobs.store.path.parent / job.id
    landed = uncertain = 0
    deadline = time.monotonic() + 600
    last = 0
    while landed < kills and time.monotonic() < deadline:
        pid = _wait_running(jobs, job.id, job_dir, last)
        if pid is None:
            break  # the job ended before this kill
        time.sleep(rng.uniform(0.05, 0.5))
        row = jobs.store.get(job.id)
        if row.status != "running":
            break
        os.kill(pid, signal.SIGKILL)
        last = pid
        _wait_dead(jobs, job.id)
        landed += 1
        if jobs.store.open_step(job.id) is not None:
            uncertain += 1
        jobs.resume(job.id, start="detach")
    final = job.wait(timeout=600)
    elapsed = time.perf_counter() - started
    assert final.status is tuneplug.JobStatus.SUCCEEDED, final.error

    reference = jobs.run(jobs.create(spec, start="none").id)
    store = AdapterStore(MockSettings().store_path())
    try:
        got = store.load(jobs.store.get(job.id).target)
        want = store.load(jobs.store.get(reference.id).target)
    finally:
        store.close()
    assert got is not None and want is not None
    same_weights = sorted(got[1]) == sorted(want[1])
    same_steps = got[0].steps == want[0].steps == jobs.store.get(job.id).steps_total
    same_losses = _losses(final) == _losses(reference)
    print(
        f"{landed} kill -9 mid-job ({uncertain} with a step applied or in flight but not "
        f"journalled done), {jobs.store.get(job.id).steps_total} steps, {elapsed:.0f} s"
    )
    print(
        f"adapter weights identical: {same_weights}; steps applied once each: {same_steps} "
        f"({got[0].steps}); per-step losses identical: {same_losses}"
    )
    return 0 if same_weights and same_steps and same_losses and landed == kills else 1


def _losses(job: object) -> list[float]:
    out: list[float] = []
    after = None
    while True:
        page = job.events(after=after, limit=100)  # type: ignore[attr-defined]
        out += [e.metrics["loss"] for e in page if e.step is not None]
        if not page.has_more:
            return out
        after = page[-1].id


def _wait_running(jobs: object, job_id: str, job_dir: Path, last: int) -> int | None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        row = jobs.store.get(job_id)  # type: ignore[attr-defined]
        if row.status in ("succeeded", "failed", "cancelled"):
            return None
        if row.status == "running" and jobs.alive(job_id):  # type: ignore[attr-defined]
            pid = int((job_dir / "runner.pid").read_text() or 0)
            if pid and pid != last:  # not the previous runner's file, not yet rewritten
                return pid
        time.sleep(0.01)
    raise RuntimeError("the runner did not start in 60 s")


def _wait_dead(jobs: object, job_id: str) -> None:
    end = time.monotonic() + 60
    while jobs.alive(job_id):  # type: ignore[attr-defined]
        if time.monotonic() > end:
            raise RuntimeError("the killed runner still holds its lock after 60 s")
        time.sleep(0.01)


if __name__ == "__main__":
    raise SystemExit(main())
