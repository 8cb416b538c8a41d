"""``bench/mutation.py --keep-results``: a re-run keeps the last run's kills and timeouts only.

mutmut 3 keeps a verdict while its function's source hash is unchanged; the bench script
rebuilds the scratch tree, so it must carry the ``.meta`` files over, and only the
verdicts a newer test cannot change (a survivor may be killed by a test added since).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mutation.py"
META = Path("mutants/src/pkg/mod.py.meta")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_mutation", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script, with a tiny repository as its root and its scratch trees in tmp_path."""
    module = _load()
    root = tmp_path / "repo"
    (root / "core" / "src" / "pkg").mkdir(parents=True)
    (root / "core" / "src" / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
    (root / "plugins" / "p" / "src" / "plug").mkdir(parents=True)
    (root / "plugins" / "p" / "src" / "plug" / "__init__.py").write_text("")
    (root / "tests").mkdir()
    (root / "tests" / "test_mod.py").write_text("def test_f():\n    pass\n")
    monkeypatch.setattr(module, "ROOT", root)
    monkeypatch.setattr(module, "SCRATCH", tmp_path / "scratch")
    return module


# One mutant per verdict mutmut 3.8.1 records (mutmut.stats.status_by_exit_code).
VERDICTS: dict[str, int | None] = {
    "pkg.mod.x_f__mutmut_1": 1,  # killed
    "pkg.mod.x_f__mutmut_2": 3,  # killed (pytest's internal error)
    "pkg.mod.x_f__mutmut_3": 36,  # timeout
    "pkg.mod.x_f__mutmut_4": -24,  # timeout (SIGXCPU)
    "pkg.mod.x_f__mutmut_5": 0,  # survived
    "pkg.mod.x_f__mutmut_6": 33,  # no tests
    "pkg.mod.x_f__mutmut_7": 35,  # suspicious
    "pkg.mod.x_f__mutmut_8": None,  # not checked
    "pkg.mod.x_f__mutmut_9": 2,  # interrupted by the user
    "pkg.mod.x_f__mutmut_10": -11,  # segfault
}
KEPT = {
    "pkg.mod.x_f__mutmut_1",
    "pkg.mod.x_f__mutmut_2",
    "pkg.mod.x_f__mutmut_3",
    "pkg.mod.x_f__mutmut_4",
}


def _last_run(work: Path) -> dict[str, Any]:
    meta = {
        "exit_code_by_key": VERDICTS,
        "hash_by_function_name": {"x_f": "0123456789ab"},
        "type_check_error_by_key": {},
        "durations_by_key": {key: 1.5 for key in VERDICTS},
        "estimated_durations_by_key": {key: 2.0 for key in VERDICTS},
    }
    (work / META).parent.mkdir(parents=True)
    (work / META).write_text(json.dumps(meta))
    (work / "mutants" / "mutmut-stats.json").write_text("{}")
    return meta


def test_only_kills_and_timeouts_are_kept(tmp_path: Path) -> None:
    bench = _load()
    _last_run(tmp_path)
    kept = bench.kept_results(tmp_path)
    assert list(kept) == [META]
    meta = kept[META]
    assert meta["exit_code_by_key"] == {
        key: code if key in KEPT else None for key, code in VERDICTS.items()
    }
    # The function hashes decide, in mutmut, which verdicts still hold: carried as they were.
    assert meta["hash_by_function_name"] == {"x_f": "0123456789ab"}
    assert meta["durations_by_key"] == {key: 1.5 for key in sorted(KEPT)}
    assert meta["estimated_durations_by_key"] == {key: 2.0 for key in sorted(KEPT)}


def test_no_last_run_keeps_nothing(tmp_path: Path) -> None:
    assert _load().kept_results(tmp_path / "never-built") == {}


def test_an_unreadable_results_file_is_one_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / META).parent.mkdir(parents=True)
    (tmp_path / META).write_text('{"exit_code_by_key": {"pkg.mod.x_f__mu')  # cut mid-write
    with pytest.raises(ValueError, match=r"mod\.py\.meta: not a mutmut results file"):
        _load().kept_results(tmp_path)


def test_a_rebuilt_tree_holds_the_kept_verdicts_and_no_test_statistics(
    bench: ModuleType,
) -> None:
    config: dict[str, Any] = {"pytest": {"ini_options": {}}, "mutmut": {}, "targets": {}}
    target = {"mutate": ["core/src/pkg/mod.py"], "tests": ["tests/test_mod.py"]}
    work = bench.SCRATCH / "t"
    _last_run(work)
    (work / "stale.txt").write_text("from the last build")
    assert bench.build("t", target, config, keep_results=True) == work
    carried = json.loads((work / META).read_text())
    assert {key for key, code in carried["exit_code_by_key"].items() if code is not None} == KEPT
    assert len(carried["exit_code_by_key"]) == len(VERDICTS)
    # mutmut measures which tests reach which function again (the test list may differ).
    assert not (work / "mutants" / "mutmut-stats.json").exists()
    assert not (work / "stale.txt").exists()
    assert (work / "src" / "pkg" / "mod.py").read_text() == "def f():\n    return 1\n"


def test_a_rebuilt_tree_without_the_option_starts_over(bench: ModuleType) -> None:
    config: dict[str, Any] = {"pytest": {"ini_options": {}}, "mutmut": {}, "targets": {}}
    target = {"mutate": ["core/src/pkg/mod.py"], "tests": ["tests/test_mod.py"]}
    work = bench.SCRATCH / "t"
    _last_run(work)
    bench.build("t", target, config)
    assert not (work / "mutants").exists()


def test_the_option_reaches_the_build(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[bool] = []

    def build(name: str, target: Any, config: Any, *, keep_results: bool = False) -> Path:
        built.append(keep_results)
        return Path(bench.SCRATCH) / name

    def run(command: list[str], **kwargs: Any) -> Any:
        class Done:
            returncode = 0
            stdout = ""

        return Done()

    monkeypatch.setattr(bench, "_config", lambda: {"targets": {"t": {}}})
    monkeypatch.setattr(bench, "build", build)
    monkeypatch.setattr(bench.subprocess, "run", run)
    assert bench.main(["t", "--keep-results"]) == 0
    assert bench.main(["t"]) == 0
    assert built == [True, False]
