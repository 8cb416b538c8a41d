"""On demand: ``kill -9`` a ``tuneplug batch`` at random points until it finishes, then check.

Issue 13's acceptance 1 at random points (the test suite does it at a deterministic
one, ``test_acceptance.py``)::

    python tests/core/batch/kill_random.py --prompts 20000 --kills 5 --seed 7

Starts the counting loopback server (``server.py`` here, ``--latency-ms`` per
answer), runs the batch through the gradient provider, kills it ``--kills`` times
after a random 1.5-6 s (start-up and validation take about 1 s), reruns it to the
end, then checks that ``out.jsonl`` holds every id exactly once, that no id written
before a run was sent by it, and that the re-sent ids (in flight, or answered but
not yet written, at a kill) stay within 2 x concurrency per kill. Exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.core.batch.server import MODEL_ID, serving


def ids_in(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["custom_id"] for line in path.read_text().splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, serving(latency=args.latency_ms / 1000) as server:
        inp, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        ids = [f"q{i}" for i in range(args.prompts)]
        inp.write_text("".join(json.dumps({"custom_id": i, "prompt": f"prompt {i}"}) + "\n"
                               for i in ids))  # fmt: skip
        argv = [sys.executable, "-m", "tuneplug", "batch", f"gradient/{MODEL_ID}", str(inp),
                "-o", str(out), "-q", "-c", str(args.concurrency)]  # fmt: skip
        env = {**os.environ, **server.env()}
        counts: Counter[str] = Counter()
        bad = 0
        for round_ in range(args.kills + 1):
            written_before, counts_before = set(ids_in(out)), counts
            proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
            if round_ < args.kills:
                try:
                    proc.wait(rng.uniform(1.5, 6.0))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
            else:
                _, err = proc.communicate(timeout=600)
                if proc.returncode != 0:
                    print(f"final run failed: {err}", file=sys.stderr)
                    return 1
            with server.lock:
                counts = Counter({k.removeprefix("prompt "): v for k, v in server.counts.items()})
            # What was written before this run must not have been sent again by it.
            for custom_id in written_before:
                if counts[custom_id] != counts_before[custom_id]:
                    bad += 1
                    print(f"{custom_id}: written, then sent again", file=sys.stderr)
            print(f"run {round_}: {len(ids_in(out)):,} lines, {sum(counts.values()):,} requests "
                  f"({time.strftime('%H:%M:%S')})")  # fmt: skip
        final = ids_in(out)
        if sorted(final) != sorted(ids):
            print(f"out.jsonl: {len(final)} lines, {len(set(final))} ids, want {len(ids)}",
                  file=sys.stderr)  # fmt: skip
            return 1
        resent = sum(c - 1 for c in counts.values())
        # Per kill: requests in flight plus answers queued for the writer (2 x concurrency).
        bound = args.kills * 2 * args.concurrency
        print(
            f"{len(ids):,} ids exactly once; {resent} re-sends over {args.kills} kills "
            f"(bound: 2 x {args.concurrency} per kill = {bound}); {bad} violations"
        )
        return 1 if bad or resent > bound else 0


if __name__ == "__main__":
    raise SystemExit(main())
