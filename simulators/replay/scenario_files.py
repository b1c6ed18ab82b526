"""Files on disk: finding scenario files, and resolving the fixtures and media a scenario names.

A path in a scenario is tried next to the scenario, then at the repository root, so a scenario can
be run from any folder; messages show paths relative to where the command runs.
"""

from __future__ import annotations

from pathlib import Path

from .collection import is_scenario_file
from .model import Problem, ScenarioInvalid


def _repo_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return Path.cwd()


def resolve_file(raw: str, base: Path) -> tuple[Path | None, list[Path]]:
    """A file named in a scenario: its folder first, then the repository root."""
    p = Path(raw)
    candidates = [p] if p.is_absolute() else [base / p, _repo_root(base) / p]
    for c in candidates:
        try:
            if c.is_file():
                return c.resolve(), candidates
        except (OSError, ValueError):
            continue
    return None, candidates


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def discover(paths: list[str], skipped: list[Path] | None = None) -> list[Path]:
    """Scenario files named or found (``*.yaml``/``*.yml`` at any depth), sorted, each once. A file
    found in a folder that is plainly not a scenario (``collection.is_scenario_file``) goes to
    ``skipped`` instead."""
    found: set[Path] = set()
    passed_over: set[Path] = set()
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        try:
            if p.is_dir():
                for f in p.rglob("*"):
                    rel = f.relative_to(p).parts
                    if f.suffix in (".yaml", ".yml") and f.is_file() and not any(s.startswith(".") for s in rel):
                        (found if is_scenario_file(f) else passed_over).add(f)
            elif p.is_file():
                found.add(p)
            else:
                problems.append(Problem(str(raw), 0, "path", "no such file or folder"))
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(raw), 0, "path", f"cannot read: {exc}"))
    if problems:
        raise ScenarioInvalid(problems)
    if skipped is not None:
        skipped.extend(sorted(passed_over - found, key=str))
    return sorted(found, key=lambda f: str(f))
