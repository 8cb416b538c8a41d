"""Every public entry point given a wrong type or an empty value raises a TuneplugError
naming the argument, before any I/O (never an AttributeError or TypeError from inside)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, TuneplugError
from tuneplug.options import OptionError


def _model() -> tuneplug.Model:
    return tuneplug.get_model("mock/tiny")


WRONG: dict[str, tuple[Callable[[], Any], str]] = {
    "get_model(5)": (lambda: tuneplug.get_model(5), r"^ref must be a string \(a model reference"),
    "get_model('')": (lambda: tuneplug.get_model(""), r"^ref must not be empty: "),
    "get_model('  ')": (lambda: tuneplug.get_model("  "), r"^ref must not be empty: "),
    "get_model(settings=5)": (
        lambda: tuneplug.get_model("mock/tiny", settings=5),
        r"^settings must be a mapping",
    ),
    "get_job(5)": (lambda: tuneplug.get_job(5), r"^ref must be a string \(a job reference"),
    "get_job('')": (lambda: tuneplug.get_job(""), r"^ref must not be empty: "),
    "get_job('mock/')": (lambda: tuneplug.get_job("mock/"), r"^bad job reference 'mock/'"),
    "get_provider(5)": (lambda: tuneplug.get_provider(5), r"^name must be a string"),
    "get_provider('')": (lambda: tuneplug.get_provider(""), r"^name must not be empty"),
    "list_models(5)": (lambda: tuneplug.list_models(5), r"^provider must be a string"),
    "list_models('')": (lambda: tuneplug.list_models(""), r"^provider must not be empty"),
    "list_models(base_only='yes')": (
        lambda: tuneplug.list_models("mock", base_only="yes"),
        r"^base_only must be True or False, got 'yes'",
    ),
    "list_jobs(5)": (lambda: tuneplug.list_jobs(5), r"^provider must be a string"),
    "list_jobs(after=5)": (lambda: tuneplug.list_jobs(after=5), r"^after must be a string"),
    "list_jobs(limit='3')": (
        lambda: tuneplug.list_jobs(limit="3"),
        r"^limit must be an integer in 1\.\.100, got '3'",
    ),
    "list_jobs('mock', limit=True)": (
        lambda: tuneplug.list_jobs("mock", limit=True),
        r"^limit must be an integer in 1\.\.100, got True",
    ),
    "read_samples(5)": (lambda: list(tuneplug.read_samples(5)), r"^path must be a file path"),
    "batched(x, '2')": (lambda: tuneplug.batched(["a"], "2"), r"^size must be an integer"),
    "batch(5, ...)": (lambda: list(tuneplug.batch(5, ["a"])), r"^model must be a Model"),
    "batch(..., 5)": (lambda: list(tuneplug.batch("mock/tiny", 5)), r"^inputs must be an"),
    "batch(..., 'a prompt')": (
        lambda: list(tuneplug.batch("mock/tiny", "a prompt")),
        r"^inputs must be an",
    ),
}


@pytest.mark.parametrize("call", WRONG)
def test_a_wrong_argument_is_an_invalid_request_naming_it(call: str) -> None:
    function, message = WRONG[call]
    with pytest.raises(InvalidRequestError, match=message):
        function()


HYPERPARAMETERS = [
    {"n_epochs": "3"},
    {"n_epochs": True},
    {"n_epochs": 2.0},
    {"batch_size": "8"},
    {"learning_rate": "0.1"},
    {"learning_rate": True},
    {"rank": "8"},
    {"rank": True},
    {"seed": True},
    {"seed": "1"},
    {"suffix": 5},
    {"lora_dropout": False},
]


@pytest.mark.parametrize(
    "spec", HYPERPARAMETERS, ids=lambda s: f"{next(iter(s))}={s[next(iter(s))]!r}"
)
def test_job_hyperparameters_are_strict_and_nothing_starts(spec: dict[str, Any]) -> None:
    (field,) = spec
    # A bounded number names its range ("n_epochs must be an integer in 1..1000, got '3'").
    with pytest.raises(
        InvalidRequestError, match=rf"^({field} must be |invalid job spec: {field}: )"
    ):
        _model().start_fine_tune(["a sample"], **spec)
    assert tuneplug.list_jobs().data == []


def test_start_fine_tune_detach_must_be_a_bool() -> None:
    with pytest.raises(InvalidRequestError, match=r"^detach must be True or False, got 'x'"):
        _model().start_fine_tune(["a sample"], detach="x")
    assert tuneplug.list_jobs().data == []


@pytest.mark.parametrize(
    ("kwargs", "option", "detail"),
    [
        ({"rank": "8"}, "rank", "must be an integer in 1..32 for 'mock' adapters, got '8'"),
        ({"rank": True}, "rank", "must be an integer in 1..32 for 'mock' adapters, got True"),
        ({"rank": 64}, "rank", "must be an integer in 1..32 for 'mock' adapters, got 64"),
        ({"learning_rate": "0.1"}, "learning_rate", "got '0.1'"),
        ({"learning_rate": True}, "learning_rate", "got True"),
        ({"learning_rate": float("nan")}, "learning_rate", "got nan"),
    ],
)
def test_create_adapter_arguments_are_strict(
    kwargs: dict[str, Any], option: str, detail: str
) -> None:
    with pytest.raises(OptionError) as caught:
        _model().create_adapter("x", **kwargs)
    assert caught.value.option == option and detail in caught.value.detail
    assert str(caught.value).startswith(f"mock: {option} must be ")


def test_a_new_adapters_limits_are_checked_before_the_data_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "nofile.jsonl"
    with pytest.raises(
        OptionError, match=r"rank must be an integer in 1\.\.32 for 'mock' adapters, got 64"
    ):
        _model().start_fine_tune(missing, rank=64)
    assert tuneplug.list_jobs().data == []


def test_every_error_of_the_table_is_a_tuneplug_error() -> None:
    # The README's promise, whatever the argument.
    for function, _ in WRONG.values():
        with pytest.raises(TuneplugError):
            function()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_tokens", "3"),
        ("max_tokens", True),
        ("max_tokens", 3.0),
        ("top_k", "5"),
        ("seed", False),
        ("temperature", "0.5"),
        ("temperature", True),
        ("top_p", "1"),
    ],
)
@pytest.mark.parametrize("where", ["complete", "get_model", "options"])
def test_completion_options_are_strict_in_python(option: str, value: Any, where: str) -> None:
    with pytest.raises(OptionError) as caught:
        if where == "complete":
            _model().complete("hi", **{option: value})
        elif where == "get_model":
            tuneplug.get_model("mock/tiny", **{option: value})
        else:
            _model().options(**{option: value})
    assert caught.value.option == option
    assert f"invalid option {option}={value!r}: must be " in str(caught.value)


def test_an_integer_is_a_number_for_a_float_option() -> None:
    assert _model().options(temperature=1, top_p=1).temperature == 1.0


@pytest.fixture
def job(tmp_path: Path) -> tuneplug.Job:
    data = tmp_path / "s.jsonl"
    data.write_text('{"inputs": "a b"}\n', encoding="utf-8")
    job = _model().start_fine_tune(str(data))
    return job.wait(timeout=60)


@pytest.mark.parametrize(
    ("method", "pattern"),
    [
        (lambda j: j.events(after=5), r"^after must be a string"),
        (lambda j: j.events(after=""), r"^after must not be empty"),
        (lambda j: j.events(limit="3"), r"^limit must be an integer in 1\.\.1000, got '3'"),
        (lambda j: j.events(limit=True), r"^limit must be an integer in 1\.\.1000, got True"),
        (lambda j: j.checkpoints(after=5), r"^after must be a string"),
        (lambda j: j.checkpoints(limit=2.0), r"^limit must be an integer in 1\.\.100, got 2\.0"),
        (lambda j: j.wait(on_event=5), r"^on_event must be a callable or None, got int"),
        (lambda j: j.wait(timeout="1"), r"^timeout \(seconds\) must be a finite number >= 0"),
        (lambda j: j.wait(timeout=-1), r"^timeout \(seconds\) must be a finite number >= 0"),
        (lambda j: j.wait(timeout=float("nan")), r"^timeout \(seconds\) must be a finite"),
        (lambda j: j.wait(poll_interval="0.1"), r"^poll_interval \(seconds\) must be a finite"),
    ],
    ids=[
        "events(after=5)",
        "events(after='')",
        "events(limit='3')",
        "events(limit=True)",
        "checkpoints(after=5)",
        "checkpoints(limit=2.0)",
        "wait(on_event=5)",
        "wait(timeout='1')",
        "wait(timeout=-1)",
        "wait(timeout=nan)",
        "wait(poll_interval='0.1')",
    ],
)
def test_a_jobs_methods_name_a_wrong_argument(
    job: tuneplug.Job, method: Callable[[tuneplug.Job], Any], pattern: str
) -> None:
    with pytest.raises(InvalidRequestError, match=pattern):
        method(job)


def test_a_jobs_methods_take_what_they_document(job: tuneplug.Job) -> None:
    assert job.events(limit=1).data and job.checkpoints(limit=1).data
    seen: list[str] = []
    assert job.wait(seen.append, timeout=0, poll_interval=0.01).status == "succeeded"
    assert seen
