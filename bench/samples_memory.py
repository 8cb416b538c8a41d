"""A 1M-sample fine-tune file streams in constant memory (DESIGN.md budget).

Writes a JSONL file and a JSON-array file of ``--samples`` samples to a temporary
directory, reads each back with ``tuneplug.read_samples`` in batches of 8 (what
``tuneplug fine-tune`` does), and reports the peak traced Python memory against the
file size.

    python bench/samples_memory.py [--samples 1000000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from tuneplug.samples import batched, read_samples

BUDGET_PEAK_MB = 16.0  # independent of the sample count: one chunk plus one batch


def _write(path: Path, count: int, array: bool) -> None:
    question = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
    sample = {"inputs": question + " The Dallas Cowboys!"}
    line = json.dumps(sample)
    with path.open("w", encoding="utf-8") as fh:
        if array:
            fh.write("[\n")
        for i in range(count):
            sep = ",\n" if array and i < count - 1 else "\n"
            fh.write(line + sep)
        if array:
            fh.write("]\n")


def _measure(path: Path) -> tuple[int, float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    seen = sum(len(batch) for batch in batched(read_samples(path), 8))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seen, peak / 1e6, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, array in (("samples.jsonl", False), ("samples.json", True)):
            path = Path(tmp) / name
            _write(path, args.samples, array)
            size = path.stat().st_size / 1e6
            seen, peak, elapsed = _measure(path)
            ok &= seen == args.samples and peak <= BUDGET_PEAK_MB
            print(
                f"{name:14} {seen:>9} samples  file {size:7.1f} MB  peak {peak:5.2f} MB  "
                f"({peak / size:.4f} of the file)  {elapsed:5.1f} s  "
                f"{seen / elapsed:,.0f} samples/s"
            )
    print(f"budget: peak <= {BUDGET_PEAK_MB:.0f} MB whatever the file size")
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
