"""Read scenario files into ``model.Scenario``, or say everything that is wrong with them at once.

Scenario files are written by people who do not read harness code, so every problem names the
file, the line and the key, and says what was expected; one pass collects all of them (fixing one
typo at a time is the slow way to learn YAML). Nothing here raises anything but ``ScenarioInvalid``.

This module is the entry point and checks the top-level keys; each part of a file has its own
checks (``check_config``, ``check_parties``, ``check_steps``, ``check_expect``, ``check_media``),
reporting through ``checker.Checker``. The format's vocabulary, ``discover`` and
``load_vendor_fixture`` are re-exported so importers keep one place to import from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .check_brain import check_brain
from .check_config import check_caps, check_flags
from .check_expect import (
    BOOL,
    CLIENT,
    COUNT,
    EXPECT,
    EXPECT_REQUIRED,
    STATE,
    STATE_LIST,
    TEXT_LIST,
    TEXTS,
    VENDOR,
    VENDORS,
)
from .check_parties import check_clients, check_vendors
from .check_seed import check_authoring_top
from .check_steps import check_steps
from .checker import Checker, describe
from .model import Problem, Scenario, ScenarioInvalid
from .scenario_files import discover
from .vendor_fixtures import load_vendor_fixture
from .vocabulary import (
    ACTIONS,
    CALL_ROW_STATUSES,
    CALL_STATUSES,
    CLIENT_KEYS,
    CLIENT_MESSAGES,
    CONSENT_STATUSES,
    FAULT_KEYS,
    FAULT_KINDS,
    FAULT_TARGETS,
    LANGUAGES,
    MEDIA_SUFFIXES,
    OCR_STATUSES,
    OCR_TYPES,
    RENDER_ITEM_KEYS,
    RENDER_KEYS,
    RENDER_KINDS,
    RENDER_LEVELS,
    SNAKE_CASE,
    STATES,
    STEP_EXTRA,
    TOP_KEYS,
    VENDOR_BOOLS,
    VENDOR_KEYS,
)
from .yamlsource import Cyclic, Map, Seq, parse_yaml, read_text

__all__ = [
    "ACTIONS",
    "BOOL",
    "CALL_ROW_STATUSES",
    "CALL_STATUSES",
    "CLIENT",
    "CLIENT_KEYS",
    "CLIENT_MESSAGES",
    "CONSENT_STATUSES",
    "COUNT",
    "EXPECT",
    "EXPECT_REQUIRED",
    "FAULT_KEYS",
    "FAULT_KINDS",
    "FAULT_TARGETS",
    "LANGUAGES",
    "MEDIA_SUFFIXES",
    "OCR_STATUSES",
    "OCR_TYPES",
    "RENDER_ITEM_KEYS",
    "RENDER_KEYS",
    "RENDER_KINDS",
    "RENDER_LEVELS",
    "SNAKE_CASE",
    "STATE",
    "STATES",
    "STATE_LIST",
    "STEP_EXTRA",
    "TEXTS",
    "TEXT_LIST",
    "TOP_KEYS",
    "VENDOR",
    "VENDORS",
    "VENDOR_BOOLS",
    "VENDOR_KEYS",
    "discover",
    "load_scenario",
    "load_vendor_fixture",
]

# --- top level ------------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in ``path``; ``ScenarioInvalid`` carries every problem found in it."""
    file = str(path)
    p = Path(path)
    text, problems = read_text(p, file)
    if text is None:
        raise ScenarioInvalid(problems)
    data, problems = parse_yaml(text, file)
    if problems and data is None:
        raise ScenarioInvalid(problems)
    if data is None:
        raise ScenarioInvalid([Problem(file, 1, "file", "the file is empty; expected a scenario mapping "
                                                        "with at least `scenario:` and `steps:`")])
    if not isinstance(data, Map):
        raise ScenarioInvalid([*problems, Problem(
            file, getattr(data, "line", 1), "file",
            f"the top level must be a mapping (scenario:, steps:, ...), got {describe(data)}")])
    checker = Checker(file, p.parent)
    checker.source = tuple(text.splitlines())
    checker.problems.extend(problems)
    try:
        scenario = _check_scenario(checker, data, file, tuple(text.splitlines()))
    except RecursionError:
        checker.add(1, "file", "the YAML nests too deeply to check; expected a scenario mapping")
        scenario = None
    except Cyclic as exc:
        checker.add(1, "file", str(exc))
        scenario = None
    except Exception as exc:  # a loader bug must still come out as a problem, not a traceback
        checker.add(1, "(loader)", f"internal error while checking this file ({type(exc).__name__}: {exc}); "
                                   "please report it with the file")
        scenario = None
    if checker.problems or scenario is None:
        # By line, so the list reads top to bottom like the file (fixture files' problems last).
        raise ScenarioInvalid(sorted(checker.problems, key=lambda q: (q.file != file, q.file, q.line)))
    return scenario


def _check_scenario(c: Checker, data: Map, file: str, source: tuple[str, ...]) -> Scenario | None:
    c.unknown_keys(data, TOP_KEYS, "")
    sid = data.get("scenario")
    if "scenario" not in data:
        c.add(data.line, "scenario", "missing; every file needs `scenario: some_snake_case_id`")
    elif c.text(sid, data.key_line("scenario"), "scenario") and not SNAKE_CASE.fullmatch(sid):
        c.add(data.key_line("scenario"), "scenario",
              f"id {sid!r} is not snake_case; expected lower-case letters, digits and _, starting with a letter")
    description = data.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        c.text(description, data.key_line("description"), "description")
    tags = _check_tags(c, data.get("tags"), data.key_line("tags"), "tags")
    errors = _check_tags(c, data.get("expected_log_errors"), data.key_line("expected_log_errors"),
                         "expected_log_errors")
    seed = data.get("seed", 0)
    if seed is None:
        seed = 0
    if not isinstance(seed, int) or isinstance(seed, bool):
        c.add(data.key_line("seed"), "seed", f"expected a whole number, got {describe(seed)}")
    flags = check_flags(c, data.get("flags"), data.key_line("flags"))
    caps = check_caps(c, data.get("caps"), data.key_line("caps"))
    vendors, vendor_ids = check_vendors(c, data.get("vendors"), data.key_line("vendors"))
    clients, client_ids = check_clients(c, data.get("clients"), data.key_line("clients"))
    steps = check_steps(c, data, vendor_ids, client_ids)
    authoring = check_authoring_top(c, data, vendor_ids, client_ids)
    brain = check_brain(c, data.get("brain"), data.key_line("brain"), sid)
    if c.problems:
        return None
    return Scenario(
        id=sid, description=description.strip(), tags=tags, seed=seed, flags=flags, caps=caps,
        vendors=vendors, clients=clients, steps=steps, file=file, source_lines=source,
        expected_log_errors=errors, brain=brain, **authoring,
    )


def _check_tags(c: Checker, value: Any, line: int, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        c.add(line, key, f"expected a list of texts like [phase0, dedupe], got {describe(value)}")
        return ()
    out = []
    for i, item in enumerate(value):
        item_line = value.item_line(i) if isinstance(value, Seq) else line
        if c.text(item, item_line, f"{key}[{i}]"):
            out.append(item)
    return tuple(out)
