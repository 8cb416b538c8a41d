"""The training data formats, told apart, validated, and converted to what providers train on.

Four formats are accepted wherever samples are (``Model.fine_tune``, jobs, files):

* plain text: ``"Question: ...\\n\\nAnswer: ..."``, a :class:`~tuneplug.types.Sample`;
* Gradient inputs: ``{"inputs": str | [{"value", "trainable"}], "multiplier"?}``, a ``Sample``;
* prompt / completion: ``{"prompt", "completion", "multiplier"?}``, a
  :class:`~tuneplug.types.PromptCompletionSample`;
* chat (OpenAI fine-tuning files): ``{"messages": [{"role", "content", "weight"?}, ...]}``,
  a :class:`~tuneplug.types.ChatSample`.

A preference pair (``{"input", "preferred_output", "non_preferred_output"}``, DPO's data)
is not one of them: it is refused here naming ``method='dpo'``, and read by
:mod:`tuneplug.samples.preference` for the providers whose jobs take that method.

Providers' step hooks (``tuneplug_fine_tune``) always receive :class:`~tuneplug.types.Sample`
objects: :func:`to_inputs` converts the other two, a prompt/completion into two
parts (only the completion trainable) and a chat into the turns rendered through
the model's chat template (only assistant turns, and their end-of-turn marker,
trainable). So no existing provider changes to accept the new formats.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from pydantic import BaseModel, ValidationError

from tuneplug.chat_templates import DEFAULT, ChatTemplate, template
from tuneplug.errors import InvalidRequestError
from tuneplug.samples.preference import PREFERENCE_KEYS, is_preference
from tuneplug.samples.words import sample_problem
from tuneplug.speech import setting
from tuneplug.text import check_text
from tuneplug.types import ChatSample, InputPart, PromptCompletionSample, Sample

__all__ = [
    "MAX_SAMPLE_BYTES",
    "SampleLike",
    "TrainingSample",
    "parse_sample",
    "sample_list",
    "to_inputs",
]

MAX_SAMPLE_BYTES = 8 * 1024 * 1024
"""The largest sample accepted: 8 MiB of JSON text for one line of a JSONL file or
one element of a JSON array (counted in characters there, which is never stricter),
and 8 Mi characters of text for a sample given in Python. Far beyond any model's
context; a bigger one is an error before anything is read further or sent."""

TrainingSample: TypeAlias = Sample | PromptCompletionSample | ChatSample
"""A sample in any of the accepted formats, validated."""

SampleLike: TypeAlias = TrainingSample | str | Mapping[str, Any]
"""What a caller may pass as one sample: a validated sample, a string or a JSON-like mapping."""

# Every key of every format, for "did you mean" hints.
_FIELDS = (
    "inputs", "multiplier", "value", "trainable", "prompt", "completion", "messages", "role",
    "content", "weight",
)  # fmt: skip
_JSON_TYPES = {bool: "boolean", int: "number", float: "number", list: "array", type(None): "null"}


class SampleProblem(ValueError):
    """Why a value is not a sample: ``field`` (dotted path, or ``None``) and ``message``."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _model_for(value: Mapping[str, Any]) -> type[BaseModel]:
    if "messages" in value:
        return ChatSample
    if "prompt" in value or "completion" in value:
        return PromptCompletionSample
    return Sample


def _unknown_field(key: str) -> str:
    close = difflib.get_close_matches(key, _FIELDS, n=1)
    return "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")


def _check_raw_text(value: object, field: str = "", depth: int = 0) -> None:
    """Lone surrogates in the strings of a raw sample, named by field (pydantic's own
    message, "unable to parse raw data as a unicode string", names no offset)."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                check_text(value, field)
            except InvalidRequestError as exc:
                raise SampleProblem(str(exc).removeprefix(f"{field} is "), field or None) from None
    elif depth < 8 and isinstance(value, Mapping):
        for key, item in value.items():
            _check_raw_text(item, f"{field}.{key}" if field else str(key), depth + 1)
    elif depth < 8 and isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_raw_text(item, f"{field}.{index}" if field else str(index), depth + 1)


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and part.startswith(("str", "list[", "constrained-"))


def _texts(sample: TrainingSample) -> Iterable[tuple[str, str]]:
    if isinstance(sample, Sample):
        if isinstance(sample.inputs, str):
            yield "inputs", sample.inputs
        else:
            for i, part in enumerate(sample.inputs):
                yield f"inputs.{i}.value", part.value
    elif isinstance(sample, PromptCompletionSample):
        yield "prompt", sample.prompt
        yield "completion", sample.completion
    else:
        for i, message in enumerate(sample.messages):
            yield f"messages.{i}.content", message.content


def check_sample(sample: TrainingSample) -> TrainingSample:
    """``sample`` if its text is valid Unicode and within :data:`MAX_SAMPLE_BYTES`.

    Raises:
        SampleProblem: naming the field.
    """
    check_texts(_texts(sample))
    return sample


def check_texts(texts: Iterable[tuple[str, str]]) -> None:
    """Check one sample's ``(field, text)`` pairs: valid Unicode, within :data:`MAX_SAMPLE_BYTES`.

    Shared by every sample format (supervised and preference pairs).

    Raises:
        SampleProblem: naming the field.
    """
    size = 0
    for field, text in texts:
        size += len(text)
        try:
            check_text(text, field)
        except InvalidRequestError as exc:
            raise SampleProblem(str(exc).removeprefix(f"{field} is "), field) from None
    if size > MAX_SAMPLE_BYTES:
        raise SampleProblem(
            f"the sample's text is {size} characters, over the limit of {MAX_SAMPLE_BYTES} "
            "(tuneplug.samples.MAX_SAMPLE_BYTES)"
        )


def parse_value(value: object) -> TrainingSample:
    """``value`` as a validated sample in whichever format its keys say.

    Raises:
        SampleProblem: naming the field (e.g. ``messages.1.role``) and what is wrong.
    """
    if isinstance(value, Sample | PromptCompletionSample | ChatSample):
        return check_sample(value)
    if isinstance(value, str):
        value = {"inputs": value}
    if is_preference(value):
        key = next((k for k in PREFERENCE_KEYS if isinstance(value, Mapping) and k in value), None)
        raise SampleProblem(
            "a preference pair (input, preferred_output, non_preferred_output) trains "
            f"with {setting('method', 'dpo')} only, on a provider that supports it",
            key,
        )
    if not isinstance(value, Mapping):
        kind = _JSON_TYPES.get(type(value), type(value).__name__)
        raise SampleProblem(f"a sample must be an object or a string, not {kind}")
    _check_raw_text(value)
    if not value:
        raise SampleProblem(
            "an empty object is not a sample: give 'inputs', 'prompt' and 'completion', "
            "or 'messages'"
        )
    model = _model_for(value)
    try:
        sample = model.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors()
        # `inputs` is a union: report the branch matching what the user wrote.
        if isinstance(value.get("inputs"), list):
            errors = [e for e in errors if "list[" in str(e["loc"])] or errors
        # A misspelt key is the cause of the "Field required" beside it: name it.
        errors = [e for e in errors if e["type"] == "extra_forbidden"] or errors
        err = errors[0]
        field = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
        if err["type"] == "extra_forbidden":
            raise SampleProblem(_unknown_field(str(err["loc"][-1])), field) from None
        raise SampleProblem(sample_problem(err, model), field or None) from None
    assert isinstance(sample, Sample | PromptCompletionSample | ChatSample)
    return check_sample(sample)


def parse_sample(value: SampleLike) -> TrainingSample:
    """One sample in any accepted format, validated (see the module's table).

    Raises:
        InvalidRequestError: naming the field and what is wrong with it.
    """
    try:
        return parse_value(value)
    except SampleProblem as exc:
        where = f"{exc.field}: " if exc.field else ""
        raise InvalidRequestError(f"invalid sample: {where}{exc.message}") from None


def sample_list(samples: SampleLike | Iterable[SampleLike]) -> list[SampleLike]:
    """``samples`` as a list, a single sample (a string, a mapping, a sample) as a list of one.

    A bare string is one sample, never a sequence of one-character samples; a
    mapping is one sample, never its keys.

    Raises:
        InvalidRequestError: ``samples`` is bytes (decode them first) or not iterable.
    """
    if isinstance(samples, str | Mapping | BaseModel):
        return [samples]
    if isinstance(samples, bytes | bytearray | memoryview):
        raise InvalidRequestError("samples must be text, not bytes: decode them first")
    try:
        return list(samples)
    except TypeError:
        raise InvalidRequestError(
            f"samples must be a sample or an iterable of samples, not {type(samples).__name__}"
        ) from None


def _parts(pieces: Iterable[tuple[str, bool]]) -> list[InputPart]:
    """Non-empty parts, neighbours with the same ``trainable`` merged."""
    merged: list[list[Any]] = []
    for text, trainable in pieces:
        if not text:
            continue
        if merged and merged[-1][1] == trainable:
            merged[-1][0] += text
        else:
            merged.append([text, trainable])
    return [InputPart(value=text, trainable=trainable) for text, trainable in merged]


def to_inputs(sample: SampleLike, chat_template: ChatTemplate | str | None = None) -> Sample:
    """``sample`` in the ``inputs`` form every provider's ``tuneplug_fine_tune`` receives.

    * a :class:`Sample` is returned as it is;
    * a :class:`PromptCompletionSample` becomes two parts, the prompt not trainable
      and the completion trainable, keeping its ``multiplier``;
    * a :class:`ChatSample` becomes its turns rendered through ``chat_template``
      (a template, a shipped template's name, or ``None`` for ``default``): role
      prefixes and non-assistant turns are context; an assistant turn's content
      and end-of-turn suffix are trainable unless its ``weight`` is ``0``.

    Any other value is read as :func:`parse_sample` reads it (a bare string is one sample).

    Raises:
        InvalidRequestError: ``sample`` is no valid sample, or ``chat_template`` names no
            shipped template.
    """
    if not isinstance(sample, Sample | PromptCompletionSample | ChatSample):
        sample = parse_sample(sample)
    if isinstance(sample, Sample):
        return sample
    if isinstance(sample, PromptCompletionSample):
        parts = _parts([(sample.prompt, False), (sample.completion, True)])
        return Sample(inputs=parts, multiplier=sample.multiplier)
    chat = DEFAULT if chat_template is None else template(chat_template)
    pieces: list[tuple[str, bool]] = []
    for message in sample.messages:
        trained = message.role == "assistant" and message.weight != 0
        if message.role == "system":
            prefix, suffix = chat.system_prefix, chat.system_suffix
        elif message.role == "user":
            prefix, suffix = chat.user_prefix, chat.user_suffix
        else:
            prefix, suffix = chat.assistant_prefix, chat.assistant_suffix
        pieces += [(prefix, False), (message.content, trained), (suffix, trained)]
    return Sample(inputs=_parts(pieces))
