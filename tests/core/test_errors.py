"""The error hierarchy: one base class, provider/status/retryable everywhere."""

from __future__ import annotations

import builtins
import pickle

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.errors import (
    ConnectionError,
    RateLimitError,
    SampleFileError,
    ServerError,
    TimeoutError,
    TuneplugError,
)

ALL = [getattr(errors, name) for name in errors.__all__]
RETRYABLE = {RateLimitError, ServerError, TimeoutError, ConnectionError}


def make(cls: type[TuneplugError], **kwargs: object) -> TuneplugError:
    if cls is SampleFileError:
        return SampleFileError("samples.jsonl", 3, "bad value", field="multiplier")
    return cls("something failed", **kwargs)  # type: ignore[arg-type]


def test_all_names_are_error_classes() -> None:
    assert len(ALL) == 21
    for cls in ALL:
        assert isinstance(cls, type) and issubclass(cls, TuneplugError), cls


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_error_has_provider_status_retryable(cls: type[TuneplugError]) -> None:
    err = make(cls)
    assert isinstance(err, TuneplugError)
    assert hasattr(err, "provider") and hasattr(err, "status") and hasattr(err, "retryable")
    assert err.retryable is (cls in RETRYABLE)


@pytest.mark.parametrize(
    "cls", sorted(RETRYABLE, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_retryable_by_default_but_overridable(cls: type[TuneplugError]) -> None:
    assert cls("x").retryable is True
    assert cls("x", retryable=False).retryable is False


def test_non_retryable_can_be_marked_retryable() -> None:
    assert errors.NotFoundError("x", retryable=True).retryable is True


@pytest.mark.parametrize(
    "cls", [c for c in ALL if c is not SampleFileError], ids=lambda c: c.__name__
)
def test_str_includes_provider_and_status(cls: type[TuneplugError]) -> None:
    err = cls("request failed", provider="acme", status=503)
    text = str(err)
    assert "acme" in text and "503" in text and "request failed" in text
    assert err.provider == "acme" and err.status == 503
    assert "acme" in repr(err) and cls.__name__ in repr(err)


def test_str_without_provider_or_status_is_just_the_message() -> None:
    assert str(errors.ConfigError("bad config")) == "bad config"


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        # The first clause names the provider: it is not named again before it.
        ("plugin 'boom' (tuneplug-boom): tuneplug_complete raised KeyError", ""),
        ("plugin 'x' serving provider instance 'boom': tuneplug_complete raised", ""),
        ("provider instance 'boom': plugin 'x' failed to load: ...", ""),
        ("provider name 'boom' is already claimed by 'tuneplug-boom'", ""),
        # Anything else keeps the prefix: another name, the name later, a longer name.
        ("plugin 'boomer' (tuneplug-boomer): tuneplug_complete raised", "boom: "),
        ("tuneplug_chat_template: plugin 'boom' returned 3", "boom: "),
        ("unknown model 'small'", "boom: "),
        ("boom", "boom: "),
    ],
)
def test_a_message_that_names_its_provider_is_not_prefixed_with_it(
    message: str, shown: str
) -> None:
    # User 5 (#11): "error: kaz: plugin 'kaz' (tuneplug-kaz): ..." named the plugin twice.
    assert str(errors.PluginError(message, provider="boom", status=500)) == (
        f"{shown}{message} (HTTP 500)"
    )
    assert str(errors.UnknownModelError(message, provider="boom")) == f"{shown}{message}"


@pytest.mark.parametrize(
    ("error", "named", "said"),
    [
        # Where the provider is said already (a job's journal, "provider 'boom' skipped:"),
        # its errors do not say it again; another provider's still do.
        (errors.ServerError("down", provider="boom", status=503), "boom", "down (HTTP 503)"),
        (errors.ServerError("down", provider="boom"), "other", "boom: down"),
        (errors.ServerError("down", provider="boom"), None, "boom: down"),
        (errors.ServerError("down"), "boom", "down"),
        # The rule of str(): a first clause naming the provider is enough, named or not.
        (errors.PluginError("plugin 'boom': x", provider="boom"), "other", "plugin 'boom': x"),
        # Only the error's provider is left out, never a message that starts like it.
        (errors.ServerError("boom: down", provider="other"), "boom", "other: boom: down"),
    ],
)
def test_said_of_leaves_out_a_provider_said_already(
    error: TuneplugError, named: str | None, said: str
) -> None:
    assert error.said_of(named) == said
    assert error.said_of(None) == str(error)


def test_rate_limit_defaults() -> None:
    err = RateLimitError("slow down", provider="gradient", retry_after=1.5)
    assert err.status == 429 and err.retry_after == 1.5 and err.retryable


def test_timeout_and_connection_are_builtin_too() -> None:
    # so generic ``except TimeoutError`` / ``except ConnectionError`` code catches them
    assert issubclass(TimeoutError, builtins.TimeoutError)
    assert issubclass(ConnectionError, builtins.ConnectionError)


def test_sample_file_error_names_file_line_field() -> None:
    err = SampleFileError("data.jsonl", 7, "Input should be greater than 0", field="multiplier")
    assert (err.path, err.line, err.field) == ("data.jsonl", 7, "multiplier")
    assert str(err).startswith("data.jsonl:7: multiplier: ")
    assert isinstance(err, errors.InvalidRequestError)


def test_errors_are_exported_lazily_from_package() -> None:
    for name in errors.__all__:
        assert getattr(tuneplug, name) is getattr(errors, name)


@pytest.mark.parametrize(
    "error",
    [
        errors.TuneplugError("plain", provider="p", status=500, retryable=True),
        errors.RateLimitError("slow down", provider="g", retry_after=2.5),
        errors.TimeoutError("too slow", provider="g"),
        errors.SampleFileError("train.jsonl", 3, "Field required", field="inputs"),
        errors.SampleFileError("train.jsonl", None, "cannot read samples"),
        errors.AdapterBusyError(
            "held", provider="mock", job_id="ftjob-1", job_status="paused", target="a-1"
        ),
        errors.AdapterChangedError(
            "changed",
            provider="mock",
            job_id="ftjob-1",
            other_job_id="ftjob-2",
            target="a-1",
            checkpoint="mock/ftckpt-1-4",
        ),
        errors.PluginError(
            "plugin 'boom': tuneplug_complete raised RuntimeError: x",
            provider="boom",
            plugin="boom",
            hook="tuneplug_complete",
        ),
    ],
)
def test_errors_survive_pickling(error: errors.TuneplugError) -> None:
    # e.g. raised in a process-pool worker and re-raised in the parent
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error) and repr(again) == repr(error)
    assert vars(again) == vars(error)
