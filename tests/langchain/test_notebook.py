"""The seed notebook, run unchanged but for one import, live and from cassettes.

The notebook (``tests/langchain/fixtures/seed_notebook_001.txt``, a verbatim copy of
``shared/seeds/001_*.txt``) is LangChain's Gradient notebook: list base models
and create an adapter with the ``gradientai`` SDK, ask ``LLMChain(prompt, llm)``
who won the 1994 Super Bowl, fine-tune the adapter on the right answer with the
SDK, ask again. Its python blocks are extracted and executed cell by cell, like
Jupyter (the value of a cell's last expression is its output), with exactly one
line changed::

    from langchain_community.llms import GradientLLM
    ->  from tuneplug_gradient.langchain import GradientLLM

Two environment facts are supplied, not edited in: the ``GRADIENT_*`` variables
(set first, so the ``getpass`` prompts are skipped; ``%pip`` lines are not
python), and ``langchain.chains`` (LangChain 1.x moved ``LLMChain`` to
``langchain-classic``; the name is aliased). The notebook hard-codes the id of
the adapter it created (``674119b5-...``), so the server issues that id.

Each form runs against ``tuneplug serve``'s app over ``mock/tiny`` on 127.0.0.1,
and offline from ``cassettes/langchain/`` with every socket refused; the SDK
(urllib3) and the provider (httpx) are both replayed. Re-record with
``TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/langchain/test_notebook.py``.
The LCEL form also rewrites the two ``LLMChain`` lines to ``prompt | llm`` and
``.invoke({...})``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import langchain_classic.chains
import pytest

from tests.gradient.cassette_kit import (
    RECORD,
    assert_no_secrets,
    no_network,
    point_at,
    use_cassette,
)

__all__ = ["no_network"]

# The notebook calls LLMChain and Chain.run, deprecated in LangChain 1.x; that is its code.
# (langchain_classic is imported at the top because importing it re-enables these warnings.)
pytestmark = pytest.mark.filterwarnings("ignore:The (class|method) .* was deprecated")

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "seed_notebook_001.txt"
SHARED_SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "001_47d1fd60fe105e95.txt"
NOTEBOOK_ADAPTER = "674119b5-f19e-4856-add2-767ae7f7d7ef_model_adapter"

LANGCHAIN_IMPORT = "from langchain_community.llms import GradientLLM"
TUNEPLUG_IMPORT = "from tuneplug_gradient.langchain import GradientLLM"
LCEL = {
    "llm_chain = LLMChain(prompt=prompt, llm=llm)": "llm_chain = prompt | llm",
    "llm_chain.run(question=question)": 'llm_chain.invoke({"question": question})',
}


def cells(text: str) -> list[str]:
    """The notebook's python blocks, without IPython ``%`` magics (blocks left empty dropped)."""
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    kept = []
    for block in blocks:
        code = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("%"))
        if code.strip():
            kept.append(code)
    return kept


def rewrite(code: str, replacements: dict[str, str]) -> str:
    """``code`` with whole lines replaced (each replacement must apply)."""
    lines = code.splitlines()
    return "\n".join(replacements.get(line.strip(), line) for line in lines)


def changed_lines(before: list[str], after: list[str]) -> list[tuple[str, str]]:
    """The ``(old, new)`` lines that differ (cells and line counts must match)."""
    assert len(before) == len(after)
    pairs = []
    for old_cell, new_cell in zip(before, after, strict=True):
        old_lines, new_lines = old_cell.splitlines(), new_cell.splitlines()
        assert len(old_lines) == len(new_lines)
        pairs += [(o, n) for o, n in zip(old_lines, new_lines, strict=True) if o != n]
    return pairs


def run_cells(sources: list[str]) -> tuple[list[Any], str]:
    """Execute like Jupyter: one namespace, each cell's last expression is its output."""
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    outputs: list[Any] = []
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for index, source in enumerate(sources):
            tree = ast.parse(source, filename=f"<cell {index}>")
            last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            if last is not None:
                tree.body.pop()
            exec(compile(tree, f"<cell {index}>", "exec"), namespace)
            value = None
            if last is not None:
                expression = ast.Expression(last.value)
                value = eval(compile(expression, f"<cell {index}>", "eval"), namespace)
            outputs.append(value)
    return outputs, printed.getvalue()


@pytest.fixture
def langchain_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    """``langchain.chains`` as the notebook knew it: LangChain 1.x keeps it in langchain-classic."""
    try:
        import langchain as parent  # type: ignore[import-not-found]
    except ImportError:
        parent = types.ModuleType("langchain")
        monkeypatch.setitem(sys.modules, "langchain", parent)
    monkeypatch.setattr(parent, "chains", langchain_classic.chains, raising=False)
    monkeypatch.setitem(sys.modules, "langchain.chains", langchain_classic.chains)


@contextlib.contextmanager
def notebook_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the server issue the notebook's adapter id to the first adapter it creates."""
    from tuneplug_gradient.protocol import ids as server_ids

    issued = iter([uuid.UUID(NOTEBOOK_ADAPTER[:36])])
    shim = types.SimpleNamespace(
        uuid4=lambda: next(issued, None) or uuid.uuid4(), uuid5=uuid.uuid5, UUID=uuid.UUID
    )
    monkeypatch.setattr(server_ids, "uuid", shim)
    yield


@contextlib.contextmanager
def live_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    from tests.server.gradient_server import running_server

    with notebook_ids(monkeypatch), running_server("mock/tiny", tmp_path=tmp_path) as server:
        point_at(monkeypatch, server.url, server.token, server.workspace)
        yield


def notebook(form: str) -> tuple[list[str], list[str]]:
    """The original cells and the cells to run for ``form`` (``llmchain`` or ``lcel``)."""
    original = cells(SEED.read_text(encoding="utf-8"))
    replacements = {LANGCHAIN_IMPORT: TUNEPLUG_IMPORT}
    if form == "lcel":
        replacements |= LCEL
    return original, [rewrite(cell, replacements) for cell in original]


def check_run(form: str, outputs: list[Any], printed: str) -> None:
    original, _ = notebook(form)

    def output_of(fragment: str, occurrence: int = 0) -> Any:
        matching = [out for src, out in zip(original, outputs, strict=True) if fragment in src]
        return matching[occurrence]

    assert printed.count("_base_ml_model") >= 1  # the listed base model ids
    assert output_of("create_model_adapter") == (NOTEBOOK_ADAPTER, "my_model_adapter")
    first = output_of("llm_chain.run(question=question)", 0)
    assert isinstance(first, str) and first.strip()
    assert "Cowboys" not in first  # the base model's (wrong) answer
    step = output_of("new_model.fine_tune")
    assert step.number_of_trainable_tokens > 0 and step.sum_loss > 0
    second = output_of("llm_chain.run(question=question)", 1)
    assert second.strip().startswith("The Dallas Cowboys")


@pytest.mark.parametrize("form", ["llmchain", "lcel"])
def test_only_the_import_line_changes(form: str) -> None:
    original, runnable = notebook(form)
    expected = [(LANGCHAIN_IMPORT, TUNEPLUG_IMPORT)]
    if form == "lcel":
        # the LLMChain line, and each of the two runs
        build, run = LCEL.items()
        expected += [build, run, run]  # the LLMChain line, and each of the two runs
    assert changed_lines(original, runnable) == expected
    assert len(original) == 11  # every python block but the %pip one


def test_the_fixture_is_the_shared_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


@pytest.mark.usefixtures("langchain_chains")
@pytest.mark.parametrize("form", ["llmchain", "lcel"])
def test_notebook_live(form: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, runnable = notebook(form)
    with live_server(monkeypatch, tmp_path):
        outputs, printed = run_cells(runnable)
    check_run(form, outputs, printed)


@pytest.mark.usefixtures("langchain_chains", "no_network")
@pytest.mark.parametrize("form", ["llmchain", "lcel"])
def test_notebook_from_cassette(form: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, runnable = notebook(form)
    server = live_server(monkeypatch, tmp_path) if RECORD else contextlib.nullcontext()
    with server:
        if not RECORD:
            point_at(monkeypatch)
        with use_cassette("langchain", f"notebook_{form}.yaml") as cassette:
            outputs, printed = run_cells(runnable)
    check_run(form, outputs, printed)
    if not RECORD:
        assert cassette.all_played, "the notebook made fewer requests than recorded"


def test_no_secret_in_langchain_cassettes() -> None:
    from tests.gradient.cassette_kit import CASSETTES

    assert_no_secrets(CASSETTES / "langchain")
