"""``tuneplug serve --backend transformers/./tiny --protocol openai``, judged by the official
``openai`` SDK on loopback (the tiny real model of ``kit.py``).

Kinds:

* the model was listed under its id, the server's directory (``/home/me/tf/tiny``), which
  then came back in messages: a model whose id is a path is listed under its name, ``tiny``;
* a backend's refusal (a prompt beyond the model's context) began with the provider's name
  and had no ``code``: it is 400 ``invalid_request`` in the backend's own words, no more;
* the state directory of a ``mock`` server kept its ``ft:`` models listed and retrievable on
  the transformers server, which answered completions on them with 404: a model the backend
  cannot run is unknown on every route, the listing too.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from tuneplug_openai.protocol import OpenAIProtocol

from tests.openai.gateway import ALICE, QUESTION, chat_file, fine_tune, sdk, serve, upload
from tests.server.gradient_server import running_server
from tests.transformers.kit import ENV, tiny_model_dir


@pytest.fixture
def at_the_model(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory holding the tiny model as ``./tiny``, as a user's would."""
    monkeypatch.setenv("HF_HUB_OFFLINE", ENV["HF_HUB_OFFLINE"])
    monkeypatch.setenv("TUNEPLUG_TRANSFORMERS_THREADS", ENV["TUNEPLUG_TRANSFORMERS_THREADS"])
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", ENV["TOKENIZERS_PARALLELISM"])
    directory = tiny_model_dir()
    monkeypatch.chdir(directory.parent)
    return directory


def test_a_model_served_from_a_directory_is_listed_by_name_and_errors_keep_the_server_s_side(
    at_the_model: Path, tmp_path: Path
) -> None:
    with serve(tmp_path, tenants=[ALICE]) as server:  # mock/tiny first, on the same state
        trained, _ = fine_tune(sdk(server), tmp_path)
        assert trained.status == "succeeded"
        before = [m.id for m in sdk(server).models.list()]
    assert trained.fine_tuned_model in before
    served = running_server(
        "transformers/./tiny", tmp_path, tenants=[ALICE], protocols=[OpenAIProtocol()]
    )
    with served as server:
        client = sdk(server)
        listed = client.models.list().data
        assert [m.id for m in listed] == ["tiny"]
        assert str(at_the_model) not in str(listed)
        reply = client.completions.create(model="tiny", prompt="Question: ", max_tokens=2)
        assert reply.model == "tiny"
        # The server's path, or the backend's reference, is not a model id (it says which is).
        for model in (str(at_the_model), "transformers/./tiny", f"transformers/{at_the_model}"):
            with pytest.raises(openai.NotFoundError) as unknown:
                client.completions.create(model=model, prompt="Q", max_tokens=2)
            assert unknown.value.code == "model_not_found"
            assert unknown.value.body["message"].endswith("it is served as 'tiny'")  # type: ignore[index]
        with pytest.raises(openai.BadRequestError) as long:
            client.completions.create(model="tiny", prompt="word " * 400, max_tokens=2)
        error = long.value.body
        assert isinstance(error, dict) and error["code"] == "invalid_request"
        assert (
            error["message"].startswith("the prompt is ") and "transformers" not in error["message"]
        )
        # The mock server's job, fine-tuned and checkpoint models are not this backend's.
        assert client.fine_tuning.jobs.list().data == []
        with pytest.raises(openai.NotFoundError):
            client.fine_tuning.jobs.retrieve(trained.id)
        file_id = upload(client, chat_file(tmp_path))
        for model in (m for m in before if m.startswith("ft:")):
            for call in (
                lambda m: client.models.retrieve(m),
                lambda m: client.chat.completions.create(
                    model=m, messages=[{"role": "user", "content": QUESTION}], max_tokens=2
                ),
                lambda m: client.fine_tuning.jobs.create(model=m, training_file=file_id),
                lambda m: client.models.delete(m),
            ):
                with pytest.raises(openai.NotFoundError) as refused:
                    call(model)
                assert refused.value.code == "model_not_found", model
