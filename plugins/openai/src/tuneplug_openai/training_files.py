"""Training data as OpenAI fine-tuning files: JSONL, and the multipart upload body.

OpenAI takes one JSON object per line (``../shared/openai-api.md``):

* **chat** models: ``{"messages": [{"role", "content", "weight"?}, ...]}``; assistant
  turns are the targets (``weight: 0`` leaves one out);
* **completion** models (``babbage-002``, ``davinci-002``):
  ``{"prompt", "completion"}``; the completion is the target.

Every tuneplug sample format converts to both, keeping what is trained on:

================================  =================================  ======================
sample                            chat line                          completion line
================================  =================================  ======================
chat ``{"messages"}``             as is                              turns before the last
                                                                     assistant turn as the
                                                                     prompt (``role: text``)
``{"prompt", "completion"}``      user = prompt, assistant =         as is
                                  completion
plain text / ``inputs`` string    one assistant turn                 empty prompt
``inputs`` parts                  untrained parts -> user turns,     leading untrained parts
                                  trained parts -> assistant turns   -> prompt, rest ->
                                                                     completion
================================  =================================  ======================

DPO's preference pairs (:mod:`tuneplug.samples.preference`) are written as they are
read, one ``{"input", "preferred_output", "non_preferred_output"}`` object a line
(:func:`to_preference_jsonl`).

OpenAI has no per-sample weight, so a ``multiplier`` other than 1 is refused (before
anything is uploaded), as is a completion-model sample that trains on text before
untrained text (the prompt/completion format cannot say that).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

from tuneplug.errors import InvalidRequestError
from tuneplug.samples.preference import PreferenceSample, as_line
from tuneplug.types import ChatSample, Message, PromptCompletionSample, Sample

__all__ = [
    "COMPLETION_MODELS",
    "FileFormat",
    "file_format",
    "multipart",
    "to_jsonl",
    "to_preference_jsonl",
]

FileFormat = Literal["chat", "completion"]
COMPLETION_MODELS = ("babbage-002", "davinci-002")
"""Base models trained on ``{"prompt", "completion"}`` lines; every other model on chat."""

TrainingSample = Sample | PromptCompletionSample | ChatSample


def file_format(model: str) -> FileFormat:
    """The file format ``model`` is fine-tuned with."""
    return "completion" if model.startswith(COMPLETION_MODELS) else "chat"


def _turn(message: Message) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.weight is not None:
        turn["weight"] = message.weight
    return turn


def _chat_line(sample: TrainingSample) -> dict[str, Any]:
    if isinstance(sample, ChatSample):
        return {"messages": [_turn(m) for m in sample.messages]}
    if isinstance(sample, PromptCompletionSample):
        asked = [{"role": "user", "content": sample.prompt}] if sample.prompt else []
        return {"messages": [*asked, {"role": "assistant", "content": sample.completion}]}
    if isinstance(sample.inputs, str):
        return {"messages": [{"role": "assistant", "content": sample.inputs}]}
    turns: list[dict[str, Any]] = []
    for part in sample.inputs:
        role = "assistant" if part.trainable else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += part.value
        else:
            turns.append({"role": role, "content": part.value})
    return {"messages": turns}


def _completion_line(sample: TrainingSample) -> dict[str, Any]:
    if isinstance(sample, PromptCompletionSample):
        return {"prompt": sample.prompt, "completion": sample.completion}
    if isinstance(sample, ChatSample):
        last = max(i for i, m in enumerate(sample.messages) if m.role == "assistant")
        prompt = "".join(f"{m.role}: {m.content}\n" for m in sample.messages[:last])
        return {"prompt": prompt, "completion": sample.messages[last].content}
    if isinstance(sample.inputs, str):
        return {"prompt": "", "completion": sample.inputs}
    parts = sample.inputs
    split = next((i for i, p in enumerate(parts) if p.trainable), len(parts))
    if any(not p.trainable for p in parts[split:]):
        raise InvalidRequestError(
            "a completion model's sample trains on one completion after its prompt: "
            "untrained parts may only come first"
        )
    return {
        "prompt": "".join(p.value for p in parts[:split]),
        "completion": "".join(p.value for p in parts[split:]),
    }


def to_jsonl(samples: Iterable[TrainingSample], fmt: FileFormat) -> bytes:
    """The JSONL file of ``samples`` in ``fmt``; ``InvalidRequestError`` naming the
    sample (counted from 1) that cannot be converted."""
    convert = _chat_line if fmt == "chat" else _completion_line
    lines: list[bytes] = []
    for number, sample in enumerate(samples, 1):
        multiplier = getattr(sample, "multiplier", None)
        if multiplier is not None and multiplier != 1.0:
            raise InvalidRequestError(
                f"sample {number}: OpenAI fine-tuning has no per-sample multiplier "
                f"(got {multiplier})"
            )
        try:
            line = convert(sample)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"sample {number}: {exc.message}") from None
        lines.append(json.dumps(line, ensure_ascii=False).encode())
    if not lines:
        raise InvalidRequestError("no training samples")
    return b"\n".join(lines) + b"\n"


def to_preference_jsonl(samples: Iterable[PreferenceSample]) -> bytes:
    """The JSONL file of DPO's preference pairs, one line each as OpenAI reads them:
    ``{"input": {"messages"}, "preferred_output", "non_preferred_output"}``."""
    lines = [json.dumps(as_line(sample), ensure_ascii=False).encode() for sample in samples]
    if not lines:
        raise InvalidRequestError("no training samples")
    return b"\n".join(lines) + b"\n"


def multipart(
    fields: dict[str, str], name: str, filename: str, content: bytes
) -> tuple[bytes, bytes]:
    """A ``multipart/form-data`` body (RFC 7578): text ``fields`` first, then the file
    part ``name``; returns ``(body, content_type)``.

    The boundary is derived from what the body carries, not drawn at random: the same
    upload is the same bytes, so a recorded upload (cassettes) matches on replay. A
    boundary must not occur in any part (RFC 2046 section 5.1.1), which is checked.
    """
    carried = [*fields.values(), name, filename]
    digest = hashlib.sha256(content)
    for text in carried:
        digest.update(b"\0" + text.encode())
    boundary = f"tuneplug-{digest.hexdigest()[:32]}"
    counter = 0
    while any(boundary.encode() in part for part in (content, *(t.encode() for t in carried))):
        counter += 1  # practically never: the content would have to contain its own hash
        boundary = f"tuneplug-{digest.hexdigest()[:32]}-{counter}"
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{safe_name}"\r\nContent-Type: application/jsonl\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}".encode()
