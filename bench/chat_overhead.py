"""What the stage-2 contract costs per call: chat, declared options, the stop safety net.

Everything runs in process against providers that answer at once, so the figures
are the facade's own cost (the budget is microseconds; a network call is
milliseconds). Ratios are measured in one run, best of ``--rounds``:

* ``complete`` through the facade vs the provider's hook called directly;
* ``chat`` vs ``complete`` of the same prompt: a stage-1 provider (messages
  checked, rendered through its template) and a native one (messages passed);
* a call with a declared provider option vs one without;
* a call with a stop sequence (the safety net cuts again) vs one without.

    python bench/chat_overhead.py [--calls 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import tuneplug
from pydantic import BaseModel
from tuneplug import hookimpl
from tuneplug.plugins import registered
from tuneplug.types import Completion, CompletionOptions, Message, ModelInfo

PROMPT = "User: What NFL team won the Super Bowl in 1994?\n\nAssistant: "
MESSAGES = [{"role": "user", "content": "What NFL team won the Super Bowl in 1994?"}]
ANSWER = Completion(text="The Dallas Cowboys!", finish_reason="stop", model="m", provider="p")


class Knobs(BaseModel):
    guidance: list[str] | None = None


class Stage1:
    """Answers at once; no hook names ``messages``; declares one option."""

    @hookimpl
    def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [ModelInfo(id="m", provider=ctx.provider, name="m")]

    @hookimpl
    def tuneplug_options(self, ctx: Any) -> type[BaseModel]:
        return Knobs

    @hookimpl
    def tuneplug_complete(
        self, ctx: Any, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Completion:
        return ANSWER


class Native(Stage1):
    """The same, speaking chat natively."""

    @hookimpl
    def tuneplug_complete(  # type: ignore[override]
        self,
        ctx: Any,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        return ANSWER


def best(fn: Callable[[], Any], calls: int, rounds: int) -> float:
    """Best seconds per call over ``rounds`` runs of ``calls`` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["TUNEPLUG_HOME"] = tempfile.mkdtemp(prefix="tuneplug-bench-")
    n, r = args.calls, args.rounds
    plugin = Stage1()
    with registered("stage1", plugin), registered("native", Native()):
        old = tuneplug.get_model("stage1/m")
        new = tuneplug.get_model("native/m")
        opts = old.options()
        rows = [
            ("hook called directly", best(
                lambda: plugin.tuneplug_complete(None, old.info, PROMPT, opts), n, r)),
            ("complete (facade)", best(lambda: old.complete(PROMPT), n, r)),
            ("chat, stage-1 provider (template)", best(lambda: old.chat(MESSAGES), n, r)),
            ("chat, native provider", best(lambda: new.chat(MESSAGES), n, r)),
            ("complete + declared option", best(
                lambda: old.complete(PROMPT, guidance=["a", "b"]), n, r)),
            ("complete + stop sequence", best(lambda: old.complete(PROMPT, stop=["\n"]), n, r)),
        ]  # fmt: skip
    base = rows[1][1]
    print(f"{'call':38} {'µs/call':>8} {'vs complete':>11}")
    for name, seconds in rows:
        print(f"{name:38} {seconds * 1e6:8.2f} {seconds / base:11.2f}")


if __name__ == "__main__":
    main()
