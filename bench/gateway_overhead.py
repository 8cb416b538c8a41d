"""A chat completion through the gateway vs the same call in process plus a bare HTTP round trip.

* **in process**: ``tuneplug.get_model("mock/tiny").chat(messages, max_tokens=16)``;
* **bare round trip**: httpx posting the same request body to a bare Starlette app on
  uvicorn (own process) that answers with the gateway's exact response body;
* **gateway**: httpx posting it to ``tuneplug serve --protocol openai`` on mock/tiny
  (own process) at ``/v1/chat/completions``, and parsing the JSON answer.

Runs are interleaved in rounds; each figure is the median per-call time over the
rounds. Budget (DESIGN.md): gateway <= 2 x (in process + bare round trip).

    python bench/gateway_overhead.py [--calls 200] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import httpx
from gateway_server import bare_starlette, serve

BUDGET = 2.0
QUESTION = "What NFL team won the Super Bowl in 1994?"
BODY = {"model": "tiny", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 16}


def _per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="calls per block")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of the three blocks")
    args = parser.parse_args()
    os.environ["TUNEPLUG_HOME"] = tempfile.mkdtemp()
    import tuneplug

    model = tuneplug.get_model("mock/tiny")
    messages = [tuneplug.Message(role="user", content=QUESTION)]
    payload = json.dumps(BODY).encode()
    headers = {"content-type": "application/json"}
    with serve(["--protocol", "openai"]) as gateway:
        auth = {**headers, "authorization": f"Bearer {gateway.key}"}
        with httpx.Client(timeout=30) as client:
            url = f"{gateway.url}/v1/chat/completions"
            answer = client.post(url, content=payload, headers=auth)
            answer.raise_for_status()
            with bare_starlette(answer.content) as bare:
                times: dict[str, list[float]] = {"in process": [], "bare": [], "gateway": []}
                blocks = {
                    "in process": lambda: model.chat(messages, max_tokens=16),
                    "bare": lambda: client.post(bare, content=payload, headers=auth).json(),
                    "gateway": lambda: client.post(url, content=payload, headers=auth).json(),
                }
                for fn in blocks.values():
                    _per_call(fn, 20)  # warm up
                for _ in range(args.rounds):
                    for name, fn in blocks.items():
                        times[name].append(_per_call(fn, args.calls))
    median = {name: statistics.median(values) * 1e6 for name, values in times.items()}
    reference = median["in process"] + median["bare"]
    ratio = median["gateway"] / reference
    print("| path | µs/call |\n|---|---|")
    for name, value in median.items():
        print(f"| {name} | {value:,.0f} |")
    print(f"| in process + bare | {reference:,.0f} |")
    print(f"\ngateway / (in process + bare) = {ratio:.2f} x (budget {BUDGET} x)")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
