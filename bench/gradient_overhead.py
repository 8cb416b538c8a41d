"""Per-call overhead of the Gradient provider over raw httpx, against one loopback server.

Both sides send the same ``POST /models/{id}/complete`` body to the same server
(``bench/gradient_loopback.py``, in a subprocess) over a pooled keep-alive
connection and parse the JSON answer:

* **raw**: ``httpx.Client(headers=...)`` and ``client.post(url, content=body)``, then
  ``response.json()``;
* **tuneplug**: ``tuneplug.get_model("gradient/<id>").complete(prompt, max_tokens=...)``,
  i.e. the facade, option validation, the wire models, the retrying client and the
  ``Completion`` result.

For reference (not budgeted) it also times **raw, lean**: a prebuilt ``httpx.Request``
(``stream=`` body, encoded header lines) passed to ``client.send``, the way the provider
builds its requests. tuneplug over raw-lean is the cost of the provider's own layers
(validation, pydantic wire models, JSON, result objects) on an equally lean request.

Runs are interleaved (raw block, tuneplug block, ...) so drift on a shared machine
hits both; the ratio reported is the median of the per-round ratios.
Budget (DESIGN.md): tuneplug <= 1.05 x raw.

    python bench/gradient_overhead.py [--calls 300] [--rounds 15] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import httpx
from gradient_loopback import MODEL_ID, PROMPT, complete_body, start

BUDGET = 1.05
TOKEN = "bench-token-0123456789"
WORKSPACE = "bench_workspace"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="calls per block")
    parser.add_argument("--rounds", type=int, default=15, help="raw/tuneplug block pairs")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="server latency")
    args = parser.parse_args()

    with start(args.latency_ms) as port:
        api = f"http://127.0.0.1:{port}/api"
        os.environ.update(
            GRADIENT_API_URL=api, GRADIENT_ACCESS_TOKEN=TOKEN, GRADIENT_WORKSPACE_ID=WORKSPACE
        )
        import tuneplug

        model = tuneplug.get_model(f"gradient/{MODEL_ID}")
        url = f"{api}/models/{MODEL_ID}/complete"
        body = complete_body()  # what the provider sends for complete(PROMPT, max_tokens=32)
        headers = {
            "x-gradient-workspace-id": WORKSPACE,
            "Accept": "application/json",
            "User-Agent": "bench",
            "Authorization": f"Bearer {TOKEN}",
        }
        post_headers = {"Content-Type": "application/json"}

        with httpx.Client(headers=headers) as raw:

            def raw_block() -> float:
                start_t = time.perf_counter()
                for _ in range(args.calls):
                    response = raw.post(url, content=body, headers=post_headers)
                    response.raise_for_status()
                    response.json()
                return (time.perf_counter() - start_t) / args.calls

            lean_headers = [(b"Host", f"127.0.0.1:{port}".encode())]
            lean_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
            lean_headers += [
                (b"Content-Type", b"application/json"),
                (b"Content-Length", str(len(body)).encode()),
            ]
            lean_url = httpx.URL(url)

            def lean_block() -> float:
                start_t = time.perf_counter()
                for _ in range(args.calls):
                    request = httpx.Request(
                        "POST", lean_url, headers=lean_headers, stream=httpx.ByteStream(body)
                    )
                    response = raw.send(request)
                    response.raise_for_status()
                    response.json()
                return (time.perf_counter() - start_t) / args.calls

            def tuneplug_block() -> float:
                start_t = time.perf_counter()
                for _ in range(args.calls):
                    model.complete(PROMPT, max_tokens=32)
                return (time.perf_counter() - start_t) / args.calls

            raw_block(), lean_block(), tuneplug_block()  # warm up: connections, caches
            raws, leans, tps, ratios, lean_ratios = [], [], [], [], []
            for i in range(args.rounds):
                # Alternate the order so no side always gets the warmer cache.
                if i % 2:
                    t, lean, r = tuneplug_block(), lean_block(), raw_block()
                else:
                    r, lean, t = raw_block(), lean_block(), tuneplug_block()
                raws.append(r)
                leans.append(lean)
                tps.append(t)
                ratios.append(t / r)
                lean_ratios.append(t / lean)
        model.provider.close()

    raw_us, tp_us = statistics.median(raws) * 1e6, statistics.median(tps) * 1e6
    lean_us = statistics.median(leans) * 1e6
    ratio = statistics.median(ratios)
    print(f"server latency      {args.latency_ms:g} ms, {args.rounds} rounds x {args.calls} calls")
    print(f"raw httpx.Client    {raw_us:8.1f} us/call (median)")
    print(f"tuneplug complete   {tp_us:8.1f} us/call (median)  overhead {tp_us - raw_us:+.1f} us")
    print(f"raw, lean (ref.)    {lean_us:8.1f} us/call (median)")
    print(
        f"ratio               {ratio:8.3f} x  (median of rounds; min {min(ratios):.3f}, "
        f"max {max(ratios):.3f}; budget {BUDGET} x)"
    )
    print(f"ratio to raw, lean  {statistics.median(lean_ratios):8.3f} x  (reference only)")
    ok = ratio <= BUDGET
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
