"""``tuneplug batch`` through the OpenAI provider (loopback fake): chat lines stay chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import cli

from tests.openai.fake import BEFORE, serve


def test_chat_lines_go_to_chat_completions_and_prompts_to_completions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What NFL team won the Super Bowl in 1994?"},
    ]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [{"custom_id": f"chat{i}", "messages": conversation} for i in range(3)]
    lines += [{"custom_id": f"text{i}", "prompt": "Question: ...\n\nAnswer:"} for i in range(3)]
    inp.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with serve(monkeypatch) as fake:
        result = CliRunner().invoke(
            cli, ["batch", "openai/gpt-4o-mini", str(inp), "-o", str(out), "-q", "-c", "4",
                  "--max-tokens", "5"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        sent = [(r.path, r.json) for r in fake.server.requests if r.method == "POST"]
    chats = [body for path, body in sent if path == "/v1/chat/completions"]
    texts = [body for path, body in sent if path == "/v1/completions"]
    assert len(chats) == 3 and len(texts) == 3
    assert all(body["messages"] == conversation for body in chats)  # native, not templated
    records = {r["custom_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(records) == {line["custom_id"] for line in lines}
    for record in records.values():
        assert record["error"] is None and record["completion"]["provider"] == "openai"
        assert record["completion"]["text"] == BEFORE
        assert record["usage"]["prompt_tokens"] == 9
