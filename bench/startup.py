"""Cold start: ``import tuneplug`` and ``tuneplug --help`` against bare Python, in one run.

Budgets (DESIGN.md): import ≤ 60 ms over bare Python, ``--help`` ≤ 150 ms over bare Python.
Each command runs in a fresh interpreter ``--runs`` times; the median is reported.

    python bench/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

BUDGET_IMPORT_MS = 60.0
BUDGET_HELP_MS = 150.0


def _median_ms(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    py = sys.executable
    script = shutil.which("tuneplug") or f"{py} -m tuneplug"
    bare = _median_ms([py, "-c", "pass"], args.runs)
    imp = _median_ms([py, "-c", "import tuneplug"], args.runs)
    helped = _median_ms([*script.split(), "--help"], args.runs)
    over_import, over_help = imp - bare, helped - bare
    print(f"bare python        {bare:7.1f} ms")
    print(f"import tuneplug    {imp:7.1f} ms  (+{over_import:.1f} ms, ratio {imp / bare:.2f}x, "
          f"budget +{BUDGET_IMPORT_MS:.0f} ms)")
    print(f"tuneplug --help    {helped:7.1f} ms  (+{over_help:.1f} ms, ratio {helped / bare:.2f}x, "
          f"budget +{BUDGET_HELP_MS:.0f} ms)")
    ok = over_import <= BUDGET_IMPORT_MS and over_help <= BUDGET_HELP_MS
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
