"""Peak RSS of a 10,000-sample fine-tuning job on the transformers provider (DESIGN.md).

Writes ``--samples`` seed-style samples to a JSONL file, then trains one adapter of the
tiny model on it as the local job runner does: samples streamed with
``tuneplug.read_samples``, batches of ``--batch``, one ``tuneplug_fine_tune`` per batch
with an idempotency key ``"<job>:<step>"`` (so every step also commits its version to
disk). Reports RSS after the first step (model, optimizer and caches in place), at
every tenth of the job, and the process's peak: growth over the job is what the job
itself costs.

    python bench/transformers_memory.py [--samples 10000] [--batch 8] [--durable]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--durable", action="store_true", help="fsync every step")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.update(
            {
                "TUNEPLUG_HOME": str(root / "home"),
                "HF_HUB_OFFLINE": "1",
                "TUNEPLUG_TRANSFORMERS_THREADS": "1",
                "TUNEPLUG_TRANSFORMERS_DURABLE": "1" if args.durable else "0",
            }
        )
        import tuneplug
        from tuneplug.samples import batched, read_samples
        from tuneplug.samples.formats import to_inputs
        from tuneplug_transformers.tiny import build_tiny_model

        directory = build_tiny_model(root / "tiny")
        data = root / "train.jsonl"
        prompt = "Question: What NFL team won the Super Bowl in {}?\n\nAnswer: "
        with data.open("w", encoding="utf-8") as fh:
            for i in range(args.samples):
                parts = [
                    {"value": prompt.format(1900 + i % 120), "trainable": False},
                    {"value": f" Team number {i % 97}!"},
                ]
                fh.write(json.dumps({"inputs": parts}) + "\n")

        adapter = tuneplug.get_model(f"transformers/{directory}").create_adapter(
            "memory", learning_rate=1e-3
        )
        steps = (args.samples + args.batch - 1) // args.batch
        marks = {max(1, steps * k // 10) for k in range(1, 11)}
        start = time.perf_counter()
        baseline = 0.0
        tokens = 0
        for step, batch in enumerate(batched(read_samples(data), args.batch), start=1):
            result = adapter.provider.call(
                "tuneplug_fine_tune",
                model=adapter.info,
                samples=[to_inputs(s) for s in batch],
                idempotency_key=f"bench:{step}",
            )
            tokens += result.trainable_tokens
            if step == 1:
                baseline = _rss_mb()
                print(f"after step 1: RSS {baseline:.1f} MB")
            if step in marks:
                print(f"step {step:5d}/{steps}: RSS {_rss_mb():.1f} MB, loss {result.loss:.3f}")
        elapsed = time.perf_counter() - start
        peak = _peak_mb()
        print(
            f"\n{args.samples} samples, {steps} steps, {tokens} trainable tokens in "
            f"{elapsed:.1f} s ({elapsed / steps * 1000:.1f} ms/step)\n"
            f"peak RSS {peak:.1f} MB; after step 1 {baseline:.1f} MB; "
            f"at the end {_rss_mb():.1f} MB; growth over the job {_rss_mb() - baseline:+.1f} MB"
        )


if __name__ == "__main__":
    main()
