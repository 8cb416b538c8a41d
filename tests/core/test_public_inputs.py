"""Every public name, given a wrong-typed or odd argument, raises a ``TuneplugError``.

README: "Every error is a tuneplug.TuneplugError". A walk over ``tuneplug.__all__`` and
``tuneplug.langchain.__all__``: each function and each pydantic type gets, one argument at
a time, values of the wrong type or out of the ordinary; whatever it does, it never raises
``AttributeError``, ``ValueError`` or pydantic's bare ``ValidationError``. Left out, on
purpose: the exception classes, pluggy's hook markers, the enums (``Capability(5)`` is
Python's ``ValueError``, as every enum's) and ``Model``'s constructor (``get_model``
builds models; its methods are walked here).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
from collections.abc import Callable
from typing import Any

import pydantic
import pytest
import tuneplug
import tuneplug.langchain

ODD: list[Any] = [
    object(), 5, "", b"x", float("nan"), float("inf"), [], {}, None, True, -1,
    "nosuch/thing", "\ud800", [object()], {"x": object()},
]  # fmt: skip

Call = Callable[..., Any]


def _model() -> tuneplug.Model:
    return tuneplug.get_model("mock/tiny")


# name -> (the callable, valid arguments to vary one at a time)
FUNCTIONS: dict[str, tuple[Callable[[], Call], dict[str, Any]]] = {
    "get_model": (lambda: tuneplug.get_model, {"ref": "mock/tiny"}),
    "get_model(option)": (lambda: tuneplug.get_model, {"ref": "mock/tiny", "max_tokens": 3}),
    "list_models": (lambda: tuneplug.list_models, {"provider": "mock", "base_only": True}),
    "get_job": (lambda: tuneplug.get_job, {"ref": "mock/job-1"}),
    "list_jobs": (lambda: tuneplug.list_jobs, {"provider": "mock", "after": None, "limit": 3}),
    "get_provider": (lambda: tuneplug.get_provider, {"name": "mock"}),
    "batch": (
        lambda: tuneplug.batch,
        {"model": "mock/tiny", "inputs": ["hi"], "concurrency": 2, "rpm": 600, "max_attempts": 2},
    ),
    "abatch": (
        lambda: tuneplug.abatch,
        {"model": "mock/tiny", "inputs": ["hi"], "window": 2, "ordered": True, "tpm": 1e6},
    ),
    "read_samples": (lambda: tuneplug.read_samples, {"path": "nosuch.jsonl"}),
    "batched": (lambda: tuneplug.batched, {"samples": ["a"], "size": 1}),
    "parse_sample": (lambda: tuneplug.parse_sample, {"value": "plain"}),
    "to_inputs": (lambda: tuneplug.to_inputs, {"sample": "plain", "chat_template": "qa"}),
    "Model.complete": (lambda: _model().complete, {"prompt": "hi", "max_tokens": 2}),
    "Model.acomplete": (lambda: _model().acomplete, {"prompt": "hi", "temperature": 0.5}),
    "Model.stream": (lambda: _model().stream, {"prompt": "hi", "top_p": 0.5}),
    "Model.chat": (lambda: _model().chat, {"messages": [{"role": "user", "content": "hi"}]}),
    "Model.astream_chat": (lambda: _model().astream_chat, {"messages": ["hi"], "seed": 1}),
    "Model.fine_tune": (lambda: _model().fine_tune, {"samples": ["plain"]}),
    "Model.prepare_samples": (lambda: _model().prepare_samples, {"samples": ["plain"]}),
    "Model.create_adapter": (
        lambda: _model().create_adapter,
        {"name": "a", "rank": 2, "learning_rate": 0.1},
    ),
    "Model.start_fine_tune": (lambda: _model().start_fine_tune, {"data": ["plain"]}),
}


def _run(function: Call, arguments: dict[str, Any]) -> None:
    positional = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    args = [arguments.pop(name) for name in positional if name in arguments]
    result = function(*args, **arguments)
    if inspect.iscoroutine(result):
        asyncio.run(result)
    elif hasattr(result, "__aiter__"):

        async def drain() -> None:
            async for _ in result:
                pass

        asyncio.run(drain())
    elif hasattr(result, "__next__"):
        list(result)


def _cases() -> list[Any]:
    return [
        pytest.param(name, key, value, id=f"{name}-{key}-{index}")
        for name, (_, valid) in FUNCTIONS.items()
        for key in valid
        for index, value in enumerate(ODD)
    ]


@pytest.mark.parametrize(("name", "key", "value"), _cases())
def test_a_function_refuses_an_odd_argument_as_a_tuneplug_error(
    name: str, key: str, value: Any
) -> None:
    get, valid = FUNCTIONS[name]
    arguments = {**valid, key: value}
    # Accepted (a value it takes) or refused in tuneplug's words; any other exception
    # fails the test.
    try:
        _run(get(), arguments)
    except tuneplug.TuneplugError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)


def _types() -> list[type[pydantic.BaseModel]]:
    found = []
    for module in (tuneplug, tuneplug.langchain):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, pydantic.BaseModel):
                found.append(value)
    return found


TYPES = _types()


def test_the_walk_finds_the_public_types() -> None:
    names = {t.__name__ for t in TYPES}
    assert {"Message", "Sample", "JobSpec", "TuneplugChat", "TuneplugLLM"} <= names


@pytest.mark.parametrize("cls", TYPES, ids=lambda c: c.__name__)
def test_a_public_type_refuses_a_wrong_field_as_a_tuneplug_error(
    cls: type[pydantic.BaseModel],
) -> None:
    for field in cls.model_fields:
        for value in (object(), [object()]):
            try:
                cls(**{field: value})
            except tuneplug.TuneplugError as exc:
                # ... and still pydantic's, for code written against pydantic
                assert isinstance(exc, pydantic.ValidationError), (field, exc)
                assert isinstance(exc, tuneplug.OptionError)
                assert str(exc) and "object at 0x" not in str(exc)


def test_enums_and_exceptions_are_left_out_on_purpose() -> None:
    left = [
        name
        for name in tuneplug.__all__
        if not callable(getattr(tuneplug, name))
        or isinstance(getattr(tuneplug, name), enum.EnumMeta)
    ]
    assert {"Capability", "JobStatus", "ModelKind"} <= set(left)
