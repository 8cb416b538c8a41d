"""Cold start: ``import tuneplug`` and ``tuneplug --help`` against bare Python, in one run.

Budgets (DESIGN.md): import ≤ 60 ms over bare Python, ``--help`` ≤ 150 ms over bare Python.
Each command runs in a fresh interpreter once per round, ``--runs`` interleaved rounds;
medians of the per-round differences to bare Python are reported.

    python bench/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

BUDGET_IMPORT_MS = 60.0
BUDGET_HELP_MS = 150.0


def _ms(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def _rounds(commands: list[list[str]], runs: int) -> list[list[float]]:
    """Each command once per round, rounds interleaved: load swings hit all alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for cmd, times in zip(commands, samples, strict=True):
            times.append(_ms(cmd))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    py = sys.executable
    script = shutil.which("tuneplug") or f"{py} -m tuneplug"
    commands = [[py, "-c", "pass"], [py, "-c", "import tuneplug"], [*script.split(), "--help"]]
    bare_s, imp_s, help_s = _rounds(commands, args.runs)
    bare, imp, helped = (statistics.median(s) for s in (bare_s, imp_s, help_s))
    # Medians of the per-round differences, as in the other benchmarks' ratios.
    over_import = statistics.median(i - b for i, b in zip(imp_s, bare_s, strict=True))
    over_help = statistics.median(h - b for h, b in zip(help_s, bare_s, strict=True))
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.runs} interleaved rounds, medians; load average {load}")
    print(f"bare python        {bare:7.1f} ms")
    print(
        f"import tuneplug    {imp:7.1f} ms  (+{over_import:.1f} ms, ratio {imp / bare:.2f}x, "
        f"budget +{BUDGET_IMPORT_MS:.0f} ms)"
    )
    print(
        f"tuneplug --help    {helped:7.1f} ms  (+{over_help:.1f} ms, ratio {helped / bare:.2f}x, "
        f"budget +{BUDGET_HELP_MS:.0f} ms)"
    )
    ok = over_import <= BUDGET_IMPORT_MS and over_help <= BUDGET_HELP_MS
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
