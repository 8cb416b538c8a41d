"""A fresh user's fine-tuned models through a tuneplug gateway as an OpenAI-compatible
provider (``[providers.local] plugin = "openai"``): one source of truth for what an ``ft:``
model can do (``get_model``, ``tuneplug adapters get`` and ``tuneplug models`` agree, jobs
included), continued fine-tuning keeps OpenAI's five-field name, and deleting one goes
through the gateway's ``DELETE /v1/models/{id}`` (the provider's ``delete_model``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.types import Capability

from tests.openai.gateway import ALICE, chat_file, sdk
from tests.server.gradient_server import RunningServer

ALL = {Capability.COMPLETE, Capability.CHAT, Capability.JOBS}


@pytest.fixture
def local(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    Path("tuneplug.toml").write_text(
        f'[providers.local]\nplugin = "openai"\nbase_url = "{server.root}/v1"\n'
        'api_key_env = "LOCAL_KEY"\n'
    )
    monkeypatch.setenv("LOCAL_KEY", ALICE.key.get_secret_value())
    return server


def _tune(model: str, data: Path) -> str:
    job = tuneplug.get_model(model).start_fine_tune(str(data), n_epochs=1)
    done = job.wait(timeout=60)
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model is not None
    return done.fine_tuned_model


def test_an_ft_model_can_do_what_the_listing_says_and_continues_in_five_fields(
    local: RunningServer, tmp_path: Path
) -> None:
    data = chat_file(tmp_path)
    first = _tune("local/tiny", data)
    second = _tune(first, data)
    for ref in (first, second):
        fields = ref.removeprefix("local/").split(":")
        assert fields[:3] == ["ft", "tiny", ALICE.name] and len(fields) == 5, ref
        model = tuneplug.get_model(ref)
        assert model.capabilities == ALL
        assert model.info.base_model_id == "tiny"
    listed = {m.ref: m.capabilities for m in tuneplug.list_models("local")}
    assert listed[first] == listed[second] == listed["local/tiny"] == ALL
    shown = CliRunner().invoke(cli, ["adapters", "get", first])
    assert shown.exit_code == 0, shown.output
    assert "chat, complete, jobs" in shown.output


def test_deleting_an_ft_model_goes_through_the_gateway(
    local: RunningServer, tmp_path: Path
) -> None:
    data = chat_file(tmp_path)
    kept, gone = _tune("local/tiny", data), _tune("local/tiny", data)
    tuneplug.get_model(gone).delete()
    listed = [m.id for m in sdk(local).models.list()]
    assert gone.removeprefix("local/") not in listed and kept.removeprefix("local/") in listed
    with pytest.raises(NotFoundError):
        tuneplug.get_model(gone).delete()  # the gateway's 404, named
    result = CliRunner().invoke(cli, ["adapters", "delete", kept])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"deleted {kept}"
    assert kept.removeprefix("local/") not in [m.id for m in sdk(local).models.list()]
    again = CliRunner().invoke(cli, ["adapters", "delete", kept])
    assert again.exit_code == 1 and "does not exist" in again.output


def test_a_base_model_is_refused_before_any_request(local: RunningServer) -> None:
    with pytest.raises(InvalidRequestError, match="local/tiny is a base model"):
        tuneplug.get_model("local/tiny").delete()
    assert [m.id for m in sdk(local).models.list()][:1] == ["tiny"]


def test_a_provider_that_can_delete_nothing_says_so(tuneplug_home: object) -> None:
    from tuneplug import hookimpl
    from tuneplug.errors import CapabilityError
    from tuneplug.plugins import registered
    from tuneplug.types import Completion, ModelInfo, ModelKind

    class JobsOnly:
        """Completer with a native job service that deletes no models."""

        @hookimpl
        def tuneplug_resolve_model(self, ctx: object, name: str) -> ModelInfo:
            kind = ModelKind.ADAPTER if name.startswith("ft:") else ModelKind.BASE
            return ModelInfo(id=name, provider="jobsonly", name=name, kind=kind)

        @hookimpl
        def tuneplug_list_models(self, ctx: object, base_only: bool) -> list[ModelInfo]:
            return []

        @hookimpl
        def tuneplug_complete(self, ctx: object, model: ModelInfo, prompt: str) -> Completion:
            return Completion(text="", model=model.id, provider="jobsonly")

        @hookimpl
        def tuneplug_jobs(self, ctx: object) -> object:
            return type("Backend", (), {"create": None, "get": None, "list": None,
                                        "cancel": None, "events": None})()  # fmt: skip

    with registered("jobsonly", JobsOnly()), pytest.raises(CapabilityError) as refused:
        tuneplug.get_model("jobsonly/ft:x:y::z").delete()
    assert refused.value.provider == "jobsonly"
    assert refused.value.message == (
        "cannot delete adapters: the provider does not implement FineTunable, and "
        "its job service deletes no fine-tuned models (its job backend has no delete_model)"
    )
