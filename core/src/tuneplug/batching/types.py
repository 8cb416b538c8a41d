"""What a batch takes and gives: :class:`BatchInput` and :class:`BatchResult`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tuneplug.errors import InvalidRequestError
from tuneplug.types import Completion, Message
from tuneplug.validation_words import problem

__all__ = ["BatchInput", "BatchResult", "BatchStats"]

_KEYS = frozenset({"prompt", "messages", "custom_id"})


@dataclass(frozen=True, slots=True)
class BatchInput:
    """One input of a batch: a prompt *or* a chat conversation, with an optional id.

    ``custom_id`` follows OpenAI's batch files: the caller's key to match results
    to inputs. Build one with :meth:`coerce` from what users pass.
    """

    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    custom_id: str | None = None

    @property
    def chars(self) -> int:
        """Characters of text sent (the TPM estimate's input)."""
        if self.messages is not None:
            return sum(len(m.content) for m in self.messages)
        return len(self.prompt or "")

    @classmethod
    def coerce(cls, value: Any) -> BatchInput:
        """A prompt string, a list of messages (``Message`` or ``{"role", "content"}``),
        a ``{"prompt"|"messages", "custom_id"?}`` mapping, or a ``BatchInput``.

        Raises:
            InvalidRequestError: anything else, an empty prompt, an empty or
                malformed conversation, or a ``custom_id`` that is not a non-empty string.
        """
        if isinstance(value, BatchInput):
            return value
        if isinstance(value, str):
            return cls(prompt=_prompt(value))
        # A dict first: the common case (a JSONL line), tested without the ABC machinery.
        if type(value) is dict or isinstance(value, Mapping):
            if not _KEYS.issuperset(value):
                unknown = sorted(set(value) - _KEYS)
                raise InvalidRequestError(
                    f"unknown key(s) {', '.join(map(repr, unknown))}: "
                    "expected 'prompt' or 'messages', and optionally 'custom_id'"
                )
            custom_id = value.get("custom_id")
            if custom_id is not None and not (isinstance(custom_id, str) and custom_id):
                raise InvalidRequestError(
                    f"custom_id must be a non-empty string, got {custom_id!r}"
                )
            prompt = value.get("prompt")
            if ("prompt" in value) == ("messages" in value):
                raise InvalidRequestError("give exactly one of 'prompt' and 'messages'")
            if "prompt" in value:
                return cls(_prompt(prompt), None, custom_id)
            return cls(messages=_messages(value["messages"]), custom_id=custom_id)
        if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
            return cls(messages=_messages(value))
        raise InvalidRequestError(
            f"an input is a prompt string, a list of messages or a mapping, "
            f"not {type(value).__name__}"
        )


def _prompt(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"prompt must be a non-empty string, got {value!r:.80}")
    return value


def _messages(value: Any) -> tuple[Message, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not value:
        raise InvalidRequestError("messages must be a non-empty list of {role, content}")
    out = []
    for i, raw in enumerate(value):
        try:
            out.append(raw if isinstance(raw, Message) else Message.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InvalidRequestError(
                f"messages[{i}]{'.' + where if where else ''}: {problem(err)}"
            ) from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of one input: a completion, or the error it ended with.

    Attributes:
        index: the input's position in the input stream (0-based).
        input: the input as sent.
        completion: the completion, or ``None`` when the input failed.
        error: the ``TuneplugError`` (or other exception from a plugin) the input
            ended with, or ``None``.
        attempts: times the batch sent this input (more than 1 after 429s; a 5xx
            the provider's HTTP client repeated on its own is one attempt).
    """

    index: int
    input: BatchInput
    completion: Completion | None = None
    error: BaseException | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """Whether the input got a completion."""
        return self.error is None

    @property
    def custom_id(self) -> str | None:
        """The input's ``custom_id``, if it had one."""
        return self.input.custom_id

    @property
    def text(self) -> str | None:
        """The completion's text, ``None`` for a failed input."""
        return self.completion.text if self.completion is not None else None


@dataclass(slots=True)
class BatchStats:
    """Live counters of a running batch (read them from a progress display).

    Attributes:
        started: inputs taken from the input stream so far.
        succeeded, failed: finished inputs by outcome.
        requests: requests sent to the server: each after a 429 and each repeat the
            provider's HTTP client made on its own (a 5xx) included; a provider that
            does not use :class:`tuneplug.http.HttpClient` counts one per attempt.
        rate_limited: 429 answers received.
        prompt_tokens, completion_tokens: reported usage summed over successes.
    """

    started: int = 0
    succeeded: int = 0
    failed: int = 0
    requests: int = 0
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def done(self) -> int:
        """Finished inputs, successful or not."""
        return self.succeeded + self.failed

    @property
    def tokens(self) -> int:
        """Reported prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens
