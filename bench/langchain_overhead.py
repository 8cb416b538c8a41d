"""The LangChain path: ``TuneplugLLM.invoke`` over raw httpx, against one loopback server.

All sides send a ``POST /models/{id}/complete`` to the same server
(``bench/gradient_loopback.py``, in a subprocess) over a pooled keep-alive
connection and parse the JSON answer:

* **raw**: ``httpx.Client.post(url, content=body)`` then ``response.json()``;
* **bare LangChain** (reference): a minimal ``langchain_core`` ``LLM`` subclass whose
  ``_call`` does exactly the raw call; the cost of LangChain's own ``invoke``
  (callbacks, run ids, config) over raw httpx;
* **TuneplugLLM**: ``TuneplugLLM(model="gradient/<id>", max_tokens=32).invoke(prompt)``;
* **GradientLLM** (the drop-in, reported): ``GradientLLM(model=<id>, ...).invoke(prompt)``.

Runs are interleaved and the ratio reported is the median of per-round ratios.
Budget (issue): TuneplugLLM <= 1.6 x raw (a bare LangChain LLM costs ~1.5 x here).

It also reports the import cost of ``tuneplug.langchain`` (fresh interpreters,
median), next to ``langchain_core`` alone and bare Python.

    python bench/langchain_overhead.py [--calls 300] [--rounds 11] [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from gradient_loopback import MODEL_ID, PROMPT, complete_body, start

BUDGET = 1.6
TOKEN = "bench-token-0123456789"
WORKSPACE = "bench_workspace"


def _import_ms(code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append((time.perf_counter() - begin) * 1000)
    return statistics.median(samples)


def import_costs(runs: int) -> None:
    """Print the import cost of the LangChain integration (fresh interpreter each run)."""
    bare = _import_ms("pass", runs)
    core = _import_ms("from langchain_core.language_models import BaseChatModel, BaseLLM", runs)
    ours = _import_ms("from tuneplug.langchain import TuneplugLLM, TuneplugChat", runs)
    drop_in = _import_ms("from tuneplug_gradient.langchain import GradientLLM", runs)
    light = _import_ms("import tuneplug.chat_templates", runs)
    print(f"bare python                           {bare:7.1f} ms")
    print(f"langchain_core BaseLLM, BaseChatModel {core - bare:+7.1f} ms over bare")
    print(
        f"tuneplug.langchain TuneplugLLM, Chat  {ours - bare:+7.1f} ms over bare "
        f"({ours - core:+.1f} ms over langchain_core's)"
    )
    print(
        f"tuneplug_gradient.langchain           {drop_in - bare:+7.1f} ms over bare "
        f"({drop_in - core:+.1f} ms over langchain_core's)"
    )
    print(f"tuneplug.chat_templates          {light - bare:+7.1f} ms over bare (no LangChain)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="calls per block")
    parser.add_argument("--rounds", type=int, default=11, help="rounds of interleaved blocks")
    parser.add_argument("--runs", type=int, default=10, help="interpreters per import timing")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="server latency")
    args = parser.parse_args()

    from langchain_core.language_models.llms import LLM
    from tuneplug.langchain import TuneplugLLM
    from tuneplug_gradient.langchain import GradientLLM

    with start(args.latency_ms) as port:
        api = f"http://127.0.0.1:{port}/api"
        os.environ.update(
            GRADIENT_API_URL=api, GRADIENT_ACCESS_TOKEN=TOKEN, GRADIENT_WORKSPACE_ID=WORKSPACE
        )
        url = f"{api}/models/{MODEL_ID}/complete"
        headers = {
            "x-gradient-workspace-id": WORKSPACE,
            "Accept": "application/json",
            "User-Agent": "bench",
            "Authorization": f"Bearer {TOKEN}",
        }
        post_headers = {"Content-Type": "application/json"}

        with httpx.Client(headers=headers) as raw:

            def raw_call(prompt: str) -> str:
                body = complete_body(prompt)  # what the provider sends for max_tokens=32
                response = raw.post(url, content=body, headers=post_headers)
                response.raise_for_status()
                return str(response.json()["generatedOutput"])

            class BareLLM(LLM):
                """The smallest LangChain LLM around the raw call."""

                @property
                def _llm_type(self) -> str:
                    return "bare"

                def _call(
                    self, prompt: str, stop: Any = None, run_manager: Any = None, **kwargs: Any
                ) -> str:
                    return raw_call(prompt)

            bare = BareLLM()
            tuneplug_llm = TuneplugLLM(model=f"gradient/{MODEL_ID}", max_tokens=32)
            drop_in = GradientLLM(model=MODEL_ID, model_kwargs={"max_generated_token_count": 32})

            def block(call: Callable[[str], object]) -> Callable[[], float]:
                def run() -> float:
                    begin = time.perf_counter()
                    for _ in range(args.calls):
                        call(PROMPT)
                    return float(time.perf_counter() - begin) / args.calls

                return run

            sides = {
                "raw httpx": block(raw_call),
                "bare LangChain LLM": block(bare.invoke),
                "TuneplugLLM.invoke": block(tuneplug_llm.invoke),
                "GradientLLM.invoke": block(drop_in.invoke),
            }
            assert tuneplug_llm.invoke(PROMPT) == drop_in.invoke(PROMPT) == raw_call(PROMPT)
            for run in sides.values():  # warm up: connections, caches
                run()
            times: dict[str, list[float]] = {name: [] for name in sides}
            for i in range(args.rounds):
                # Rotate the order so no side always gets the warmer cache.
                names = list(sides)
                names = names[i % len(names) :] + names[: i % len(names)]
                for name in names:
                    times[name].append(sides[name]())

    raw_t = times["raw httpx"]
    print(f"server latency {args.latency_ms:g} ms, {args.rounds} rounds x {args.calls} calls")
    ratios: dict[str, float] = {}
    for name, samples in times.items():
        ratio = statistics.median(t / r for t, r in zip(samples, raw_t, strict=True))
        ratios[name] = ratio
        print(f"{name:22s} {statistics.median(samples) * 1e6:8.1f} us/call  {ratio:6.3f} x raw")
    print(f"budget: TuneplugLLM <= {BUDGET} x raw")
    import_costs(args.runs)
    ok = ratios["TuneplugLLM.invoke"] <= BUDGET
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
