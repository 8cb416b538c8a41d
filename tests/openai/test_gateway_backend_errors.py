"""What a gateway's client reads when the backend fails, judged by the official ``openai``
SDK on loopback (user report 7 #6): the backend's own credentials refused is the
operator's problem, a 502 in the server's words (no config table, file, line or provider
name), with the whole reason in the server's log; routes in messages are routes, not
``<path>``; and every 409 carries ``x-should-retry: false``, in the client's words."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug
from tuneplug.errors import AdapterBusyError, ConfigError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.server.errors import public_text, scrub
from tuneplug_openai.protocol import OpenAIProtocol

from tests.core.plugin_kit import COMPLETER, build_plugin
from tests.openai.gateway import ALICE, fine_tune, sdk
from tests.server.gradient_server import RunningServer, running_server

WRONG = "sk-wrong-upstream-0123456789"
FRONT = "sk-front-client-0123456789"


@pytest.fixture
def front(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningServer]:
    """A gateway whose backend is an ``openai`` instance on ``server`` with a wrong key."""
    (tmp_path / "front").mkdir()
    monkeypatch.chdir(tmp_path / "front")
    Path("tuneplug.toml").write_text(
        f'[providers.up]\nplugin = "openai"\nbase_url = "{server.root}/v1"\n'
        'api_key_env = "UP_KEY"\n'
    )
    monkeypatch.setenv("UP_KEY", WRONG)
    with running_server(
        "up/tiny", tmp_path / "front", token=FRONT, protocols=[OpenAIProtocol()]
    ) as running:
        yield running


def test_the_backends_refused_key_is_a_502_in_the_servers_words_and_logged(
    front: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = openai.OpenAI(base_url=f"{front.root}/v1", api_key=FRONT, max_retries=0)
    calls = {
        "chat": lambda: client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        ),
        "completions": lambda: client.completions.create(model="tiny", prompt="hi", max_tokens=2),
    }
    for name, call in calls.items():
        caplog.clear()
        with (
            caplog.at_level(logging.WARNING, logger="tuneplug.server"),
            pytest.raises(openai.APIStatusError) as caught,
        ):
            call()
        error = caught.value
        assert error.status_code == 502, name
        said = error.response.json()["error"]
        assert said["message"] == "the server's backend refused its credentials", name
        assert said["code"] is None and said["type"] == "server_error"
        # The operator's log says why, in one line, without the upstream key.
        lines = [r.getMessage() for r in caplog.records if "backend error" in r.getMessage()]
        assert len(lines) == 1, (name, lines)
        assert "api_key" in lines[0] and "[providers.up]" in lines[0] and "401" in lines[0]
        assert WRONG not in lines[0] and WRONG not in caplog.text


def test_a_route_in_a_message_is_kept_whatever_its_segments() -> None:
    for route in ("/chat/completions", "/completions", "/v1/models/ft:tiny:a::ftjob-1"):
        for method in ("GET", "POST", "DELETE"):
            said = f"{method} {route} failed: rate limit reached"
            assert scrub(said) == said
    assert scrub("cannot read /srv/state/files/file-1 now") == "cannot read <path> now"
    assert scrub("cannot read /srv/state now") == "cannot read <path> now"
    assert public_text("POST /completions failed at /home/op/x.toml:4") == (
        "POST /completions failed at <path>:4"
    )


def test_deleting_a_model_another_job_trains_is_409_in_the_clients_words(
    server: RunningServer, tmp_path: Path
) -> None:
    alice = sdk(server, max_retries=2)
    seed, _ = fine_tune(alice, tmp_path)
    tuned = seed.fine_tuned_model
    # The CLI (same TUNEPLUG_HOME) trains the adapter behind the ft: model.
    adapter = next(r for r in job_store().page("mock", None, 100)[0] if r.model == "tiny")
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    cli_job = jobs.create(
        tuneplug.JobSpec(model=adapter.target, training_data=["a b"]), start="none"
    ).id
    sent: list[str] = []
    client = alice.with_options(http_client=_counting(sent))
    with pytest.raises(openai.ConflictError) as caught:
        client.models.delete(tuned)
    error = caught.value
    assert (error.code, error.param) == ("model_busy", "model")
    assert error.response.headers["x-should-retry"] == "false"
    assert len(sent) == 1  # the SDK did not retry it
    assert f"model {tuned!r} is being trained by another job" in error.message
    for leak in (cli_job, adapter.target, adapter.id, "mock", "tuneplug", "get_job"):
        assert leak not in error.message
    jobs.cancel(cli_job)
    assert alice.models.delete(tuned).deleted


def _counting(sent: list[str]) -> openai.DefaultHttpxClient:
    return openai.DefaultHttpxClient(
        event_hooks={"request": [lambda request: sent.append(str(request.url))]}
    )


def test_a_clients_own_job_is_named_with_its_cancel_route() -> None:
    from tuneplug_openai.protocol.job_errors import model_in_use

    exc = AdapterBusyError("busy", job_id="j-1", job_status="paused", target="a-1")
    error = model_in_use("ft:tiny:alice::ftjob-x", exc, "ftjob-own")
    assert (error.status, error.code, error.headers) == (
        409,
        "model_busy",
        {"x-should-retry": "false"},
    )
    assert "job 'ftjob-own' (paused)" in error.message
    assert "POST /v1/fine_tuning/jobs/ftjob-own/cancel" in error.message
    assert "j-1" not in error.message and "a-1" not in error.message


def test_every_409_says_not_to_retry_and_names_no_backend_job() -> None:
    from tuneplug_gradient.protocol.errors import ApiError
    from tuneplug_openai.protocol.errors import OpenAIError, from_tuneplug

    assert OpenAIError(409, "x").headers == {"x-should-retry": "false"}
    assert OpenAIError(409, "x", code="conflict").code == "conflict"
    assert ApiError(409, "x").headers == {"x-should-retry": "false"}
    assert "x-should-retry" not in OpenAIError(400, "x").headers
    busy = AdapterBusyError(
        "adapter mock/a-1 is being trained by job mock/ftjob-1; "
        "tuneplug.get_job('mock/ftjob-1').cancel()",
        provider="mock",
        job_id="ftjob-1",
        job_status="running",
        target="a-1",
    )
    error = from_tuneplug(busy)
    assert (error.status, error.code, error.headers["x-should-retry"]) == (
        409,
        "model_busy",
        "false",
    )
    assert "ftjob-1" not in error.message and "a-1" not in error.message
    assert ALICE.name not in error.message


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("AuthenticationError", "the server's backend refused its credentials"),
        ("PermissionDeniedError", "the server's backend refused its credentials"),
        ("ConnectionError", "the server could not reach its backend"),
    ],
)
def test_each_failure_of_the_servers_own_side_is_a_502_in_its_words(
    kind: str, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    import tuneplug.errors
    from tuneplug.server.errors import public_message, status_for
    from tuneplug_gradient.protocol.errors import from_tuneplug as gradient_error
    from tuneplug_openai.protocol.errors import from_tuneplug

    said = "POST /chat/completions failed; check base_url in [providers.up] (/etc/op/t.toml:4)"
    exc = getattr(tuneplug.errors, kind)(said, provider="up")
    with caplog.at_level(logging.WARNING, logger="tuneplug.server"):
        assert (status_for(exc), public_message(exc)) == (502, words)
        assert (from_tuneplug(exc).status, from_tuneplug(exc).message) == (502, words)
        assert gradient_error(exc).body.message == words
    assert f"backend error answered 502: up: {said}" in caplog.text


def test_the_gradient_face_of_a_busy_adapter_names_no_backend_job() -> None:
    from tuneplug_gradient.protocol.errors import from_tuneplug as gradient_error

    busy = AdapterBusyError(
        "adapter mock/a-1 is being trained by job mock/ftjob-1 (running, not ended); "
        "continue that job with `tuneplug jobs resume mock/ftjob-1`",
        provider="mock",
        job_id="ftjob-1",
        job_status="running",
        target="a-1",
    )
    error = gradient_error(busy, typed=True)
    assert (error.status, error.headers) == (409, {"x-should-retry": "false"})
    assert "another job" in error.body.message
    for leak in ("ftjob-1", "mock", "tuneplug jobs"):
        assert leak not in error.body.message


def test_a_backends_config_error_is_a_502_not_retried_without_the_operators_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A backend setting the machine cannot honour (user report 8 N1: a transformers
    # device it lacks), found on a request: the client reads the server's words, once.
    def tuneplug_complete(ctx: Any, model: Any, prompt: str, options: Any) -> Any:
        raise ConfigError(
            "device 'cuda' is not available on this machine; check TUNEPLUG_REC_DEVICE",
            provider="rec",
        )

    plugin = build_plugin("rec", COMPLETER, complete=tuneplug_complete)
    tuneplug.plugins.default_registry().register("rec", plugin)
    with running_server("rec/base", tmp_path, token=FRONT, protocols=[OpenAIProtocol()]) as front:
        sent: list[str] = []
        client = openai.OpenAI(
            base_url=f"{front.root}/v1",
            api_key=FRONT,
            max_retries=2,
            http_client=_counting(sent),
        )
        with (
            caplog.at_level(logging.WARNING, logger="tuneplug.server"),
            pytest.raises(openai.APIStatusError) as caught,
        ):
            client.completions.create(model="base-slug", prompt="hi", max_tokens=2)
    error = caught.value
    assert error.status_code == 502
    assert error.response.json()["error"]["message"] == "the server's backend is misconfigured"
    assert error.response.headers["x-should-retry"] == "false"
    assert len(sent) == 1  # the SDK did not retry a 5xx it would otherwise retry twice
    for leak in ("TUNEPLUG_REC_DEVICE", "cuda", "rec"):
        assert leak not in error.response.text
    lines = [r.getMessage() for r in caplog.records if "backend error" in r.getMessage()]
    assert lines == [
        "backend error answered 502: rec: device 'cuda' is not available on this machine; "
        "check TUNEPLUG_REC_DEVICE"
    ]
