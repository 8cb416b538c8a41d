"""How an error names what its caller gave: a flag on the command line, an argument in Python.

The core raises the same error for both (a preference pair read without DPO, a
DPO-only option given to a supervised job), but a CLI user never wrote
``method="dpo"`` and a Python user never typed ``--method dpo``. Errors name an
argument through :func:`setting`; the CLI declares, for the duration of a command
(:func:`speaking_flags`), which flag sets each argument, and everything else (a
Python caller, the gateway serving HTTP clients) hears Python's words.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

__all__ = ["CLI_FLAGS", "setting", "speaking_flags", "speaking_python", "speaks_flags"]

CLI_FLAGS: Mapping[str, str] = {
    "method": "--method", "n_epochs": "--epochs", "batch_size": "--batch-size",
    "learning_rate": "--learning-rate", "learning_rate_multiplier": "--learning-rate-multiplier",
    "rank": "--rank", "lora_alpha": "--lora-alpha", "lora_dropout": "--lora-dropout",
    "suffix": "--suffix", "seed": "--seed", "beta": "--beta", "after": "--after",
    "limit": "--limit", "validation_data": "--validation",
}  # fmt: skip
"""A Python argument -> the flag of tuneplug's commands that sets it (one name everywhere)."""

_FLAGS: ContextVar[Mapping[str, str] | None] = ContextVar("tuneplug_flags", default=None)


def speaks_flags() -> bool:
    """Whether errors raised now are read on a command line."""
    return _FLAGS.get() is not None


def setting(argument: str, value: object = None) -> str:
    """``argument`` (set to ``value``, when given) as the caller wrote it:
    ``method="dpo"`` in Python, ``--method dpo`` on the command line (an argument no
    flag sets keeps its Python name there too)."""
    flags = _FLAGS.get()
    flag = flags.get(argument) if flags is not None else None
    if flag is not None:
        return flag if value is None else f"{flag} {value}"
    return argument if value is None else f"{argument}={json.dumps(value)}"


@contextlib.contextmanager
def speaking_flags(flags: Mapping[str, str] = CLI_FLAGS) -> Iterator[None]:
    """Within the block (a CLI command), :func:`setting` names ``flags``."""
    token = _FLAGS.set(flags)
    try:
        yield
    finally:
        _FLAGS.reset(token)


@contextlib.contextmanager
def speaking_python() -> Iterator[None]:
    """Within the block, Python's words again: for work a command hands to other callers
    (``serve``'s requests answer HTTP clients, who sent neither flags nor arguments)."""
    token = _FLAGS.set(None)
    try:
        yield
    finally:
        _FLAGS.reset(token)
