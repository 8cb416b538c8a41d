"""tuneplug.ray.TuneplugBatch: with a plain driver, and with Ray Data on this machine.

Ray starts once per session (``ray.init(num_cpus=2)`` on 127.0.0.1, ~4 s); the
Ray tests run the mock and a loopback Gradient server, and the mock's outputs are
compared with ``tuneplug batch``'s on the same file (issue 13, acceptance 3).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import InvalidRequestError
from tuneplug.ray import RESULT_COLUMNS, TuneplugBatch

from tests.core.batch.server import MODEL_ID, TOKEN, WORKSPACE, serving

PROMPTS = [f"Question: What is {i} plus {i}?\n\nAnswer: " for i in range(40)]


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import ray

    home = tmp_path_factory.mktemp("ray-home")
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"TUNEPLUG_HOME": str(home)}},
    )  # fmt: skip
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def drive(fn: TuneplugBatch, rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """What map_batches does, without Ray: numpy batches of ``size`` rows in, rows out."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        batch = {k: np.array([r.get(k) for r in chunk], dtype=object) for k in chunk[0]}
        columns = fn(batch)
        names = list(columns)
        got = zip(*columns.values(), strict=True)
        out.extend(dict(zip(names, row, strict=True)) for row in got)
    return out


def test_the_class_with_a_plain_driver() -> None:
    fn = TuneplugBatch("mock/tiny", concurrency=3, max_tokens=6)
    rows = [{"custom_id": f"c{i}", "prompt": p} for i, p in enumerate(PROMPTS[:7])]
    rows.append({"custom_id": "bad", "prompt": ""})
    got = drive(fn, rows, size=3)
    assert [r["custom_id"] for r in got] == [r["custom_id"] for r in rows]  # order kept
    assert set(RESULT_COLUMNS) <= set(got[0])
    import tuneplug

    direct = tuneplug.get_model("mock/tiny")
    for row in got[:7]:
        assert row["text"] == direct.complete(row["prompt"], max_tokens=6).text
        assert row["error"] is None and row["completion_tokens"]
    assert got[7]["text"] is None and got[7]["error_type"] == "InvalidRequestError"


def test_pandas_batches_and_missing_columns() -> None:
    fn = TuneplugBatch("mock/tiny", max_tokens=4)
    frame = pd.DataFrame({"prompt": PROMPTS[:3], "keep": [1, 2, 3]})
    out = fn(frame)
    assert out["keep"] == [1, 2, 3] and all(isinstance(t, str) for t in out["text"])
    conversations = [[{"role": "user", "content": f"Say {i}."}] for i in range(3)]
    chats = fn({"messages": np.array(conversations, dtype=object)})  # a 2-D object array
    import tuneplug

    model = tuneplug.get_model("mock/tiny")
    assert chats["text"] == [model.chat(c, max_tokens=4).text for c in conversations]
    with pytest.raises(InvalidRequestError, match="neither a 'prompt' nor a 'messages'"):
        fn({"question": np.array(["x"])})
    with pytest.raises(InvalidRequestError):
        TuneplugBatch("mock/tiny", temperature=5)  # checked at construction


@pytest.mark.timeout(300)  # actors start in fresh processes; slow on a loaded 2-core machine
def test_ray_data_on_the_mock_matches_the_cli(ray_session: Any, tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [{"custom_id": f"c{i}", "prompt": p} for i, p in enumerate(PROMPTS)]
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cli_run = CliRunner().invoke(
        cli, ["batch", "mock/tiny", str(inp), "-o", str(out), "--max-tokens", "8", "-q"]
    )
    assert cli_run.exit_code == 0, cli_run.output
    expected = {}
    for line in out.read_text().splitlines():
        record = json.loads(line)
        expected[record["custom_id"]] = (
            record["completion"]["text"], record["completion"]["finish_reason"],
            record["usage"]["prompt_tokens"], record["usage"]["completion_tokens"],
        )  # fmt: skip

    ds = ray_session.data.from_items(rows).map_batches(
        TuneplugBatch, fn_constructor_kwargs={"model": "mock/tiny", "max_tokens": 8},
        compute=ray_session.data.ActorPoolStrategy(size=1), batch_size=8,
    )  # fmt: skip
    got = {
        r["custom_id"]: (r["text"], r["finish_reason"], r["prompt_tokens"], r["completion_tokens"])
        for r in ds.take_all()
    }
    assert got == expected and len(got) == len(PROMPTS)


@pytest.mark.timeout(300)
def test_ray_data_against_a_loopback_server(ray_session: Any) -> None:
    rows = [{"custom_id": f"c{i}", "prompt": f"prompt {i}"} for i in range(60)]
    with serving(latency=0.005) as server:
        settings = {"api_url": server.url, "access_token": TOKEN, "workspace_id": WORKSPACE}
        ds = ray_session.data.from_items(rows).map_batches(
            TuneplugBatch,
            fn_constructor_kwargs={"model": f"gradient/{MODEL_ID}", "settings": settings,
                                   "concurrency": 8},
            compute=ray_session.data.ActorPoolStrategy(size=2), batch_size=16,
        )  # fmt: skip
        got = ds.take_all()
        counts = dict(server.counts)
    assert sorted(r["custom_id"] for r in got) == sorted(r["custom_id"] for r in rows)
    assert all(r["text"] == f"echo {r['prompt']}" and r["error"] is None for r in got)
    assert counts == {f"prompt {i}": 1 for i in range(60)}  # each row sent exactly once


@pytest.mark.timeout(300)
def test_ray_data_through_tuneplug_serve(
    ray_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Actors reach `tuneplug serve` (Gradient protocol, mock backend) over loopback."""
    import tuneplug

    from tests.server.gradient_server import running_server

    with running_server("mock/tiny", tmp_path=tmp_path) as server:
        settings = {"api_url": server.url, "access_token": server.token,
                    "workspace_id": server.workspace}  # fmt: skip
        listed = httpx.get(
            f"{server.url}/models", params={"onlyBase": "true"},
            headers={"Authorization": f"Bearer {server.token}",
                     "x-gradient-workspace-id": server.workspace},
        )  # fmt: skip
        base = tuneplug.get_model(f"gradient/{listed.json()['models'][-1]['id']}",
                                  settings=settings)  # fmt: skip
        rows = [{"custom_id": f"c{i}", "prompt": p} for i, p in enumerate(PROMPTS[:24])]
        ds = ray_session.data.from_items(rows).map_batches(
            TuneplugBatch,
            fn_constructor_kwargs={"model": base.ref, "settings": settings, "max_tokens": 8},
            compute=ray_session.data.ActorPoolStrategy(size=1), batch_size=8,
        )  # fmt: skip
        got = {r["custom_id"]: r for r in ds.take_all()}
    direct = tuneplug.get_model("mock/tiny")
    assert sorted(got) == sorted(r["custom_id"] for r in rows)
    for row in rows:
        result = got[row["custom_id"]]
        assert result["error"] is None and result["provider"] == "gradient"
        assert result["text"] == direct.complete(row["prompt"], max_tokens=8).text


def test_closing_the_actor_loop_is_bounded_and_idempotent() -> None:
    fn = TuneplugBatch("mock/tiny", max_tokens=4)
    fn({"prompt": np.array(PROMPTS[:2], dtype=object)})
    loop = fn._loop
    loop.close()
    assert loop.loop.is_closed() and not loop.thread.is_alive()
    loop.close()  # again: nothing to do, returns at once
