"""``tuneplug chat`` (one-shot from a pipe, interactive with history) and
``tuneplug models MODEL --options``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from tuneplug import hookimpl
from tuneplug.cli import chat as cli_chat
from tuneplug.cli import cli
from tuneplug.plugins import registered
from tuneplug.types import Completion, CompletionOptions, Message, ModelInfo


class Recorder:
    """Native chat: answers ``reply <n>`` and records every conversation it is sent."""

    def __init__(self) -> None:
        self.conversations: list[list[Message]] = []

    @hookimpl
    def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [ModelInfo(id="m", provider=ctx.provider, name="M")]

    @hookimpl
    def tuneplug_complete(
        self,
        ctx: Any,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        assert messages is not None
        self.conversations.append(messages)
        text = f"reply {len(self.conversations)}"
        return Completion(text=text, finish_reason="stop", model="m", provider=ctx.provider)


@pytest.fixture
def recorder(tuneplug_home: Any) -> Iterator[Recorder]:
    plugin = Recorder()
    with registered("rec", plugin):
        yield plugin


def test_one_shot_reads_all_of_stdin_as_one_message(recorder: Recorder) -> None:
    result = CliRunner().invoke(
        cli, ["chat", "-m", "rec/m", "--system", "Be brief."], input="line one\nline two\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "reply 1\n"
    assert recorder.conversations == [
        [Message(role="system", content="Be brief."),
         Message(role="user", content="line one\nline two")]
    ]  # fmt: skip


def test_one_shot_on_the_mock_goes_through_its_template(tuneplug_home: Any) -> None:
    # mock/echo answers with its prompt: the default template, cut where "User:" would
    # begin, without the end-of-turn marker ("\n\n") left before it.
    result = CliRunner().invoke(cli, ["chat", "-m", "mock/echo", "--system", "S"], input="hi")
    assert result.exit_code == 0, result.output
    assert result.stdout == "S\n"


def test_interactive_keeps_the_history_until_reset(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_chat, "_is_terminal", lambda: True)
    typed = "first\nsecond\n/reset\nthird\n/exit\nnever sent\n"
    result = CliRunner().invoke(cli, ["chat", "-m", "rec/m"], input=typed)
    assert result.exit_code == 0, result.output
    assert "reply 1" in result.stdout and "reply 3" in result.stdout
    user = lambda text: Message(role="user", content=text)  # noqa: E731
    assistant = lambda text: Message(role="assistant", content=text)  # noqa: E731
    assert recorder.conversations == [
        [user("first")],
        [user("first"), assistant("reply 1"), user("second")],
        [user("third")],
    ]


def test_interactive_ends_at_end_of_input(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_chat, "_is_terminal", lambda: True)
    result = CliRunner().invoke(cli, ["chat", "-m", "rec/m"], input="only\n")
    assert result.exit_code == 0, result.output
    assert len(recorder.conversations) == 1


def test_a_bad_option_fails_before_the_first_turn(tuneplug_home: Any) -> None:
    result = CliRunner().invoke(cli, ["chat", "-m", "mock/tiny", "-o", "volume=3"], input="hi")
    assert result.exit_code == 2  # a usage error (docs/cli.md)
    assert result.stderr.startswith("error: -o volume: unknown option for mock; valid options:")
    assert result.stdout == ""


def test_empty_stdin_is_an_error(tuneplug_home: Any) -> None:
    result = CliRunner().invoke(cli, ["chat", "-m", "mock/tiny"], input="  \n")
    assert result.exit_code == 1 and "stdin is empty" in result.stderr


def test_models_options_table_and_json(tuneplug_home: Any) -> None:
    table = CliRunner().invoke(cli, ["models", "gradient/" + "a" * 36 + "_model_adapter",
                                     "--options"], env={"GRADIENT_ACCESS_TOKEN": "t",
                                                        "GRADIENT_WORKSPACE_ID": "w"})  # fmt: skip
    assert table.exit_code == 0, table.output
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert "list[str] | dict[str, Any] | None" in lines["guidance"]
    assert "bool | None" in lines["auto_template"]
    assert "Let Gradient wrap the prompt" in lines["auto_template"]
    assert "tuple[str, ...]" in lines["stop"] and "create_adapter" in lines["rank"]
    listed = CliRunner().invoke(cli, ["models", "mock/tiny", "--options", "--json"])
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["purpose"], r["scope"]) for r in rows] == [
        *((n, "complete", "common") for n in
          ("max_tokens", "temperature", "top_k", "top_p", "stop", "seed")),
        ("rank", "create_adapter", "common"),
        ("learning_rate", "create_adapter", "common"),
    ]  # fmt: skip
    assert rows[4]["default"] == [] and rows[0]["description"] == "Most tokens to generate."


def test_models_options_needs_a_model(tuneplug_home: Any) -> None:
    result = CliRunner().invoke(cli, ["models", "--options"])
    assert result.exit_code == 2 and "give MODEL" in result.output


def test_the_seed_flow_in_chat_form(tuneplug_home: Any) -> None:
    # Trained on chat samples (rendered through mock/tiny's qa template), asked in a chat:
    # the same template on both sides, so the adapter answers what it learnt.
    import tuneplug

    question = "What NFL team won the Super Bowl in 1994?"
    sample = {"messages": [{"role": "user", "content": question},
                           {"role": "assistant", "content": "The Dallas Cowboys!"}]}  # fmt: skip
    adapter = tuneplug.get_model("mock/tiny").create_adapter("chat-seed", rank=8)
    before = CliRunner().invoke(cli, ["chat", "-m", adapter.ref], input=question)
    for _ in range(3):
        adapter.fine_tune([sample])
    after = CliRunner().invoke(cli, ["chat", "-m", adapter.ref], input=question)
    assert after.exit_code == 0, after.output
    assert before.stdout != "The Dallas Cowboys!\n"
    assert after.stdout == "The Dallas Cowboys!\n"
