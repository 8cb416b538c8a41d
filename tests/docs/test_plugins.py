"""docs/plugins.md and tuneplug.hookspecs agree: every hook documented, nothing else.

For each ``### `tuneplug_...` `` section the guide's signature block must match the
hookspec (parameters in order, return type, async-ness), sit under its group's
heading, say whether it is required exactly as the core enforces it, and give
parameters, returns, errors and an example.
"""

from __future__ import annotations

import ast
import inspect
import re
import types
from pathlib import Path

import pytest
import tuneplug
from tuneplug.hookspecs import (
    COMPLETER_REQUIRED,
    FINETUNABLE_REQUIRED,
    Completer,
    FineTunable,
    Setup,
)
from tuneplug.plugins import Registry

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
TEXT = GUIDE.read_text(encoding="utf-8")
GROUPS = {"Setup": Setup, "Completer": Completer, "FineTunable": FineTunable}
SPECS = {
    name: group for group in GROUPS.values() for name in vars(group) if name.startswith("tuneplug_")
}
ASYNC_HOOKS = {"tuneplug_acomplete", "tuneplug_afine_tune"}  # return Awaitable[...]
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def sections() -> dict[str, tuple[str, str]]:
    """hook name -> (group heading it is under, section text)."""
    found: dict[str, tuple[str, str]] = {}
    group = ""
    parts = re.split(r"^(#{2,3} .*)$", TEXT, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        if heading.startswith("## "):
            group = heading[3:].strip()
            continue
        hook = re.fullmatch(r"### `(tuneplug_\w+)`", heading.strip())
        if hook:
            assert hook.group(1) not in found, f"{hook.group(1)} is documented twice"
            found[hook.group(1)] = (group, body)
    return found


DOCUMENTED = sections()


def test_every_hook_is_documented_and_nothing_else() -> None:
    assert set(DOCUMENTED) == set(SPECS), (
        f"missing from the guide: {sorted(set(SPECS) - set(DOCUMENTED))}; "
        f"documented but not hooks: {sorted(set(DOCUMENTED) - set(SPECS))}"
    )


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_hook_section_matches_the_hookspec(hook: str) -> None:
    group, body = DOCUMENTED[hook]
    assert group == f"{SPECS[hook].__name__} hooks", f"{hook} is under '{group}'"

    blocks = PYTHON_BLOCK.findall(body)
    assert len(blocks) >= 2, f"{hook}: a signature block and an example"
    (node,) = [
        n
        for n in ast.parse(blocks[0]).body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    assert node.name == hook
    assert [d.id for d in node.decorator_list if isinstance(d, ast.Name)] == ["hookimpl"]

    spec = inspect.signature(getattr(SPECS[hook], hook))
    params = [p for p in spec.parameters if p != "self"]
    assert [a.arg for a in node.args.args] == params, f"{hook}: parameters differ"
    for arg, name in zip(node.args.args, params, strict=True):
        documented = ast.unparse(arg.annotation) if arg.annotation else None
        assert documented == spec.parameters[name].annotation, f"{hook}({name}) type differs"

    returns = ast.unparse(node.returns) if node.returns else None
    expected = str(spec.return_annotation)
    if hook in ASYNC_HOOKS:
        assert isinstance(node, ast.AsyncFunctionDef), f"{hook} is documented as async def"
        expected = re.fullmatch(r"Awaitable\[(.*)\]", expected).group(1)  # type: ignore[union-attr]
    else:
        assert isinstance(node, ast.FunctionDef), f"{hook} is not an async def"
    assert returns == expected, f"{hook}: returns {returns}, the hookspec says {expected}"

    for label in ("**Parameters", "**Returns", "**Raises"):
        assert label in body, f"{hook}: no {label}** entry"
    required = hook in COMPLETER_REQUIRED | FINETUNABLE_REQUIRED
    assert ("**Required**" in body) == required, f"{hook}: required is {required}"
    assert ("Optional" in body) != required, f"{hook}: say whether it is optional"


def test_capability_table_matches_the_core() -> None:
    rows = {
        cells[0]: cells
        for line in TEXT.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    for group, required in (
        ("Completer", COMPLETER_REQUIRED),
        ("FineTunable", FINETUNABLE_REQUIRED),
    ):
        _, _, req, opt = rows[group]
        assert set(re.findall(r"tuneplug_\w+", req)) == required
        optional = {n for n in vars(GROUPS[group]) if n.startswith("tuneplug_")} - required
        assert set(re.findall(r"tuneplug_\w+", opt)) == optional
    assert set(re.findall(r"tuneplug_\w+", rows["Setup"][3])) == {
        n for n in vars(Setup) if n.startswith("tuneplug_")
    }


def test_every_python_block_parses() -> None:
    blocks = PYTHON_BLOCK.findall(TEXT)
    assert len(blocks) >= 3  # the guide's examples are found (a changed fence would hide them)
    for block in blocks:
        ast.parse(block)


def test_the_one_file_plugin_works(tuneplug_home: object) -> None:
    source = PYTHON_BLOCK.findall(TEXT)[0]
    assert source.startswith("# acme_tuneplug.py")
    module = types.ModuleType("acme_tuneplug")
    exec(compile(source, "docs/plugins.md", "exec"), module.__dict__)
    registry = Registry()
    registry.register("acme", module)
    info = registry.info("acme")
    assert info.error is None and {c.value for c in info.capabilities} == {"complete"}
    import tuneplug.plugins

    tuneplug.plugins.default_registry().register("acme", module)
    done = tuneplug.get_model("acme/shout").complete("hello. world", stop=["."])
    assert (done.text, done.provider) == ("HELLO", "acme")


def test_the_hookspecs_point_at_the_guide() -> None:
    assert "docs/plugins.md" in (tuneplug.hookspecs.__doc__ or "")


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_group_heading_names_the_module_that_specifies_it(group: str) -> None:
    section = re.search(rf"^## {group} hooks\n(.*?)^### ", TEXT, re.MULTILINE | re.DOTALL)
    assert section is not None, f"no '## {group} hooks' heading"
    assert f"`{GROUPS[group].__module__}`" in section.group(1)
