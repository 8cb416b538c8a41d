"""Mutation testing of the core's critical modules with mutmut 3, on demand (never in CI).

    pip install -r requirements-mutation.txt
    python bench/mutation.py samples config        # one or more targets
    python bench/mutation.py --list                # the targets and what they mutate
    python bench/mutation.py samples --results     # survivors of the last run, no new run
    python bench/mutation.py http-client --mutants 'tuneplug.http.requests.*'   # some only
    python bench/mutation.py jobs --keep-results   # keep the last run's kills and timeouts

Each target (``[tool.mutmut-targets.<name>]`` in the root ``pyproject.toml``) names the
files to mutate, the test files that exercise them, extra pytest arguments, the
mutants to run (mutmut name patterns, for a target too slow to run whole) and its own
``timeout_multiplier``, if any.
mutmut mutates a copy, so this builds a scratch tree under ``.mutation/<target>/``
(git-ignored): every distribution's ``src`` merged into one ``src/`` (mutmut puts
``mutants/src`` first on ``sys.path``, so the mutated copy shadows the editable
installs), the tests, and the data they read. Its ``pyproject.toml`` is the root's
pytest settings plus ``[tool.mutmut]`` (the root's shared keys, then the target's files
and tests). mutmut records which tests reach which function and runs only those
against each mutant. Results stay in the scratch tree: ``cd .mutation/<target> &&
mutmut browse`` (or ``mutmut show <name>``) to read one. See docs/mutation.md for how
to read a score and what survivors mean.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutation"
# What tests read besides themselves (cassettes, docs checked by tests, example plugins).
DATA = ("cassettes", "docs", "examples", "README.md")


def _config() -> dict[str, Any]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = data["tool"]
    return {
        "pytest": tool["pytest"],
        "mutmut": tool.get("mutmut", {}),
        "targets": tool["mutmut-targets"],
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _table(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _sources(target: dict[str, Any]) -> list[str]:
    """``src/...`` patterns of the files to mutate (paths in the merged tree)."""
    patterns = []
    for path in target["mutate"]:
        # core/src/tuneplug/samples/*.py -> src/tuneplug/samples/*.py
        _, _, inside = path.partition("/src/")
        patterns.append(f"src/{inside}")
    return patterns


# mutmut 3.8.1's exit codes (`mutmut.stats.status_by_exit_code`) of "killed" and "timeout".
KEPT_EXIT_CODES = frozenset({1, 3, 36, 24, -24, 152, 255})


def kept_results(work: Path) -> dict[Path, dict[str, Any]]:
    """The kills and timeouts of the last run in ``work``, per ``.meta`` file.

    Returns ``{path under work: meta}``: each of mutmut's ``mutants/**/*.meta`` files
    with every other verdict (survived, no tests, suspicious, not checked...) reset to
    ``None``, so mutmut runs those mutants again. mutmut itself resets the verdicts of
    every function whose source hash changed when it builds the mutants. An unreadable
    ``.meta`` (a run stopped while writing it) is a ``ValueError`` naming its file.
    """
    kept: dict[Path, dict[str, Any]] = {}
    mutants = work / "mutants"
    for path in sorted(mutants.rglob("*.meta")) if mutants.is_dir() else []:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            codes: dict[str, int | None] = meta["exit_code_by_key"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a mutmut results file ({exc})") from None
        meta["exit_code_by_key"] = {
            key: code if code in KEPT_EXIT_CODES else None for key, code in codes.items()
        }
        # Durations of mutants run again would be measured again; keep the kept ones'.
        for field in ("durations_by_key", "estimated_durations_by_key"):
            if isinstance(meta.get(field), dict):
                meta[field] = {
                    key: value
                    for key, value in meta[field].items()
                    if meta["exit_code_by_key"].get(key) is not None
                }
        kept[path.relative_to(work)] = meta
    return kept


def build(
    name: str, target: dict[str, Any], config: dict[str, Any], *, keep_results: bool = False
) -> Path:
    """The scratch tree for ``name``; rebuilt from the working tree when it changed.

    With ``keep_results``, the last run's kills and timeouts (:func:`kept_results`) are
    written into the new tree's ``mutants/`` before mutmut builds its mutants there; its
    test statistics are not, so mutmut measures the tests again.
    """
    work = SCRATCH / name
    kept = kept_results(work) if keep_results else {}
    if work.exists():
        shutil.rmtree(work)
    (work / "src").mkdir(parents=True)
    for dist_src in [ROOT / "core" / "src", *sorted((ROOT / "plugins").glob("*/src"))]:
        shutil.copytree(dist_src, work / "src", dirs_exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    for item in DATA:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, work / item, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, work / item)
    pytest_ini = dict(config["pytest"]["ini_options"])
    pytest_ini.pop("timeout", None)  # mutmut times each mutant out itself
    mutmut = {
        **config["mutmut"],
        "source_paths": ["src"],
        "only_mutate": _sources(target),
        "also_copy": [*config["mutmut"].get("also_copy", []), *DATA],
        "pytest_add_cli_args": [
            *config["mutmut"].get("pytest_add_cli_args", []),
            *target.get("pytest_args", []),
        ],
        "pytest_add_cli_args_test_selection": list(target["tests"]),
    }
    # A target whose tests mostly wait (loopback servers) calls a hang sooner.
    if "timeout_multiplier" in target:
        mutmut["timeout_multiplier"] = float(target["timeout_multiplier"])
    (work / "pyproject.toml").write_text(
        _table("tool.pytest.ini_options", pytest_ini) + "\n" + _table("tool.mutmut", mutmut),
        encoding="utf-8",
    )
    for relative, meta in kept.items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(json.dumps(meta), encoding="utf-8")
    return work


# mutmut warns against `python -m mutmut`: it must be the console script of this venv.
MUTMUT = str(Path(sys.executable).with_name("mutmut"))


def _results(work: Path) -> str:
    done = subprocess.run(
        [MUTMUT, "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout


def _summary(name: str, results: str) -> str:
    counts: dict[str, int] = {}
    for line in results.splitlines():
        _, sep, status = line.rpartition(": ")
        if sep:
            counts[status.strip()] = counts.get(status.strip(), 0) + 1
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    judged = killed + counts.get("survived", 0)
    score = f"{100 * killed / judged:.1f}%" if judged else "n/a"
    listed = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{name}: score {score} ({killed} killed of {judged}; {listed})"


def main(argv: list[str] | None = None) -> int:
    """Build and run each target; print its survivors and score."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="target names (default: all)")
    parser.add_argument("--list", action="store_true", help="show the targets and exit")
    parser.add_argument("--results", action="store_true", help="report the last run only")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--mutants",
        nargs="+",
        metavar="PATTERN",
        help="run only these mutmut name patterns instead of the target's `mutants` "
        "(a limited re-run: the changed and never-checked functions)",
    )
    parser.add_argument(
        "--keep-results",
        action="store_true",
        help="keep the last run's kills and timeouts of functions whose source is unchanged "
        "(everything else runs again; see docs/mutation.md)",
    )
    args = parser.parse_args(argv)
    config = _config()
    targets: dict[str, dict[str, Any]] = config["targets"]
    if args.list:
        for name, target in targets.items():
            print(f"{name}: {' '.join(target['mutate'])}\n    tests: {' '.join(target['tests'])}")
        return 0
    unknown = sorted(set(args.targets) - set(targets))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(targets)}")
    status = 0
    for name in args.targets or list(targets):
        work = SCRATCH / name
        if not args.results:
            work = build(name, targets[name], config, keep_results=args.keep_results)
            command = [MUTMUT, "run", "--max-children", str(args.max_children)]
            # A target may mutate its critical functions only: mutmut name patterns.
            command += list(args.mutants or targets[name].get("mutants", []))
            done = subprocess.run(command, cwd=work, check=False)
            status = status or done.returncode
        results = _results(work)
        survivors = [line for line in results.splitlines() if line.endswith(": survived")]
        print("\n".join(survivors))
        print(_summary(name, results))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
