"""Declared provider options (``tuneplug_options``): one error listing the valid names, before
any I/O, from Python, the CLI and a config alias (issue 8, acceptance 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, Field
from tuneplug import hookimpl
from tuneplug.cli import cli
from tuneplug.errors import InvalidRequestError
from tuneplug.plugins import registered
from tuneplug.testing import no_network
from tuneplug.types import Completion, CompletionOptions, ModelInfo

COMMON = "max_tokens, temperature, top_k, top_p, stop, seed"


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    volume: int = Field(default=5, ge=0, le=11, description="How loud.")
    style: str | None = Field(default=None, description="Say it how.")


class AdapterKnobs(BaseModel):
    lora_alpha: float = Field(default=16.0, gt=0, description="LoRA scaling.")


class Declaring:
    """Declares ``Knobs`` for completion (``deep`` also ``depth``) and ``AdapterKnobs``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [ModelInfo(id=i, provider=ctx.provider, name=i) for i in ("m", "deep")]

    @hookimpl
    def tuneplug_options(self, ctx: Any, model: ModelInfo, purpose: str) -> type[BaseModel] | None:
        if purpose == "create_adapter":
            return AdapterKnobs
        if model.id == "deep":

            class Deep(Knobs):
                depth: int = 1

            return Deep
        return Knobs

    @hookimpl
    def tuneplug_complete(
        self, ctx: Any, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Completion:
        self.calls.append(("complete", dict(options.extra)))
        return Completion(text="ok", model=model.id, provider=ctx.provider)

    @hookimpl
    def tuneplug_create_adapter(
        self, ctx: Any, base: ModelInfo, name: str, options: dict[str, Any]
    ) -> ModelInfo:
        self.calls.append(("create_adapter", options))
        return ModelInfo(id=name, provider=ctx.provider, name=name, kind="adapter")

    @hookimpl
    def tuneplug_fine_tune(self, ctx: Any, model: ModelInfo, samples: list[Any]) -> Any:
        raise AssertionError("not called")

    @hookimpl
    def tuneplug_delete_adapter(self, ctx: Any, model: ModelInfo) -> None:
        raise AssertionError("not called")


@pytest.fixture
def knobs(tuneplug_home: Any) -> Iterator[Declaring]:
    plugin = Declaring()
    with registered("knobs", plugin):
        yield plugin


def test_valid_options_reach_the_hook_validated(knobs: Declaring) -> None:
    model = tuneplug.get_model("knobs/m")
    model.complete("hi", volume="7", max_tokens=3)
    assert knobs.calls == [("complete", {"volume": 7})]  # coerced; defaults not injected


def test_a_mistyped_option_from_python_lists_the_valid_ones(knobs: Declaring) -> None:
    model = tuneplug.get_model("knobs/m")
    with no_network(), pytest.raises(InvalidRequestError) as refused:
        model.complete("hi", volum=7)
    assert refused.value.provider == "knobs"
    assert str(refused.value) == (
        "knobs: unknown option 'volum' (did you mean 'volume'?); "
        f"valid options: {COMMON}, volume, style"
    )
    for call in (lambda: model.chat([{"role": "user", "content": "x"}], volum=7),
                 lambda: model.stream("hi", volum=7),
                 lambda: tuneplug.get_model("knobs/m", volum=7)):  # fmt: skip
        with no_network(), pytest.raises(InvalidRequestError, match="valid options"):
            call()
    assert knobs.calls == []


def test_a_bad_value_names_the_option(knobs: Declaring) -> None:
    # The house wording for a range (docs/config.md), never pydantic's.
    said = r"invalid option volume=12: must be an integer in 0\.\.11, got 12$"
    with pytest.raises(InvalidRequestError, match=said):
        tuneplug.get_model("knobs/m").complete("hi", volume=12)
    assert knobs.calls == []


def test_options_may_be_declared_per_model(knobs: Declaring) -> None:
    tuneplug.get_model("knobs/deep").complete("hi", depth=3)
    with pytest.raises(InvalidRequestError, match="unknown option 'depth'"):
        tuneplug.get_model("knobs/m").complete("hi", depth=3)


def test_a_mistyped_option_from_the_cli(knobs: Declaring) -> None:
    result = CliRunner().invoke(cli, ["complete", "-m", "knobs/m", "-o", "volum=3", "hi"])
    assert result.exit_code == 2  # a usage error (docs/cli.md), still one error line
    (line,) = result.output.strip().splitlines()
    # The flag names the option, the detail the provider: each once.
    assert line.startswith("error: -o volum: unknown option for knobs (did you mean 'volume'?)")
    assert line.endswith(f"valid options: {COMMON}, volume, style")
    assert knobs.calls == []


def test_a_mistyped_option_from_a_config_alias_names_file_and_line(
    knobs: Declaring, tuneplug_home: Any
) -> None:
    path = tuneplug_home.write_config('[models.qa]\nmodel = "knobs/m"\nmax_tokens = 3\nvolum = 3\n')
    with no_network(), pytest.raises(InvalidRequestError) as refused:
        tuneplug.get_model("qa")
    assert refused.value.provider is None  # the provider did nothing wrong
    assert str(refused.value) == (
        f"{path}:4: [models.qa] volum: unknown option for knobs (did you mean 'volume'?); "
        f"valid options: {COMMON}, volume, style"
    )
    result = CliRunner().invoke(cli, ["complete", "-m", "qa", "hi"])
    assert result.exit_code == 1 and f"error: {path}:4: [models.qa] volum: " in result.output
    assert knobs.calls == []


def test_create_adapter_options_are_declared_for_that_purpose(knobs: Declaring) -> None:
    base = tuneplug.get_model("knobs/m")
    base.create_adapter("a", lora_alpha=8)
    assert knobs.calls == [("create_adapter", {"lora_alpha": 8.0})]
    with no_network(), pytest.raises(InvalidRequestError) as refused:
        base.create_adapter("b", lora_alpah=8)
    message = str(refused.value)
    assert "unknown option 'lora_alpah'" in message
    assert "valid options: rank, learning_rate, lora_alpha" in message
    assert len(knobs.calls) == 1


def test_a_provider_without_the_hook_gets_its_options_unvalidated(tuneplug_home: Any) -> None:
    seen: list[dict[str, Any]] = []

    class Stage1:
        @hookimpl
        def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
            return [ModelInfo(id="m", provider=ctx.provider, name="m")]

        @hookimpl
        def tuneplug_complete(
            self, ctx: Any, model: ModelInfo, prompt: str, options: CompletionOptions
        ) -> Completion:
            seen.append(dict(options.extra))
            return Completion(text="ok", model=model.id, provider=ctx.provider)

    with registered("old", Stage1()):
        tuneplug.get_model("old/m").complete("hi", anything=1)
    assert seen == [{"anything": 1}]


def test_the_mock_takes_no_provider_options(tuneplug_home: Any) -> None:
    with no_network(), pytest.raises(InvalidRequestError) as refused:
        tuneplug.get_model("mock/tiny").complete("hi", max_tokns=3)
    assert "did you mean 'max_tokens'" in str(refused.value)
    assert str(refused.value).endswith(f"valid options: {COMMON}")
    with pytest.raises(InvalidRequestError, match=r"valid options: rank, learning_rate$"):
        tuneplug.get_model("mock/tiny").create_adapter("x", lora_alpha=8)


def test_adapter_options_from_the_cli(knobs: Declaring) -> None:
    ok = CliRunner().invoke(
        cli, ["adapters", "create", "knobs/m", "--name", "a", "-o", "lora_alpha=8", "--json"]
    )
    assert ok.exit_code == 0, ok.output
    assert knobs.calls == [("create_adapter", {"lora_alpha": 8.0})]
    bad = CliRunner().invoke(cli, ["adapters", "create", "knobs/m", "--name", "b", "-o", "alpha=8"])
    assert bad.exit_code == 2  # a usage error (docs/cli.md), before anything is sent
    assert bad.stderr.startswith("error: -o alpha: unknown option for knobs (did you mean")
    assert "valid options: rank, learning_rate, lora_alpha" in bad.stderr
    assert len(knobs.calls) == 1


# A job's `extra` (`-o` of `jobs create`): the spec's own fields are refused as such, naming
# the argument or flag that sets them, and the valid options listed are only those `extra`
# really takes (user7 #10).


@pytest.mark.parametrize("field", ["rank", "learning_rate", "lora_alpha", "seed", "suffix"])
def test_a_spec_field_in_a_jobs_extra_names_its_argument(knobs: Declaring, field: str) -> None:
    with no_network(), pytest.raises(InvalidRequestError) as refused:
        tuneplug.get_model("knobs/m").start_fine_tune(["a"], extra={field: 4})
    assert str(refused.value) == (
        f"extra[{field!r}] is a field of the job spec, not a provider option: set it with {field}=4"
    )
    assert knobs.calls == []  # nothing created


def test_an_unknown_job_option_lists_what_extra_takes(knobs: Declaring) -> None:
    with no_network(), pytest.raises(InvalidRequestError) as refused:
        tuneplug.get_model("knobs/m").start_fine_tune(["a"], extra={"rnak": 4})
    # lora_alpha is declared, but a job sets it with lora_alpha=, not in extra.
    assert str(refused.value) == "knobs: unknown option 'rnak'; valid options: none"
    bad = CliRunner().invoke(cli, ["jobs", "create", "knobs/m", "-", "-o", "foo=1"], input="a\n")
    assert bad.stderr.splitlines() == [
        "error: -o foo: unknown option for knobs; valid options: none"
    ]
    spec = CliRunner().invoke(cli, ["jobs", "create", "knobs/m", "-", "-o", "lora_alpha=8"])
    assert spec.stderr.splitlines() == [
        "error: -o lora_alpha: a field of the job spec, set by --lora-alpha"
    ]
    assert knobs.calls == []


def test_the_mock_job_extra_takes_no_options(tuneplug_home: Any) -> None:
    model = tuneplug.get_model("mock/tiny")
    with no_network(), pytest.raises(InvalidRequestError) as refused:
        model.start_fine_tune(["a"], extra={"foo": 1})
    assert str(refused.value) == "mock: unknown option 'foo'; valid options: none"
    with pytest.raises(InvalidRequestError, match=r"^extra\['rank'\] is a field of the job spec"):
        model.start_fine_tune(["a"], extra={"rank": 4})
    assert model.provider.name == "mock" and tuneplug.list_jobs("mock").data == []
