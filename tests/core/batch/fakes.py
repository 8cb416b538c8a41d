"""A controllable stand-in for :class:`tuneplug.Model` in the batch engine's tests.

It has what the engine uses (``provider.name``, ``options()``, ``acomplete``,
``achat``) and records what it was sent, how many calls were in flight at most,
and answers from a script: a callable of the prompt returning a text or raising.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuneplug.models import build_options
from tuneplug.types import Completion, CompletionOptions, Message, Usage

Answer = Callable[[str], str]


@dataclass
class _Provider:
    name: str = "fake"


@dataclass
class FakeModel:
    """Answers ``answer(prompt)`` after ``steps`` event-loop turns (or raises what it raises)."""

    answer: Answer = lambda prompt: f"echo {prompt}"
    steps: int = 1
    delays: dict[str, int] = field(default_factory=dict)
    provider: _Provider = field(default_factory=_Provider)
    sent: list[str] = field(default_factory=list)
    options_seen: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def options(self, **overrides: Any) -> CompletionOptions:
        return build_options(overrides, self.provider.name)

    async def acomplete(self, prompt: str, **options: Any) -> Completion:
        self.sent.append(prompt)
        self.options_seen.append(options)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(self.delays.get(prompt, self.steps)):
                await asyncio.sleep(0)
            text = self.answer(prompt)
        finally:
            self.in_flight -= 1
        return Completion(
            text=text, model="m", provider="fake",
            usage=Usage(prompt_tokens=len(prompt.split()), completion_tokens=len(text.split())),
        )  # fmt: skip

    async def achat(self, messages: list[Message], **options: Any) -> Completion:
        return await self.acomplete(
            " | ".join(f"{m.role}:{m.content}" for m in messages), **options
        )
