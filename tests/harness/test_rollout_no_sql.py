"""The rollout simulator reads the ledger through its read methods only (issue 15: one window onto
the ledger): no module in simulators/rollout/ touches the ledger's connection or runs SQL."""

import ast
from pathlib import Path

ROLLOUT = Path(__file__).resolve().parents[2] / "simulators" / "rollout"


def _sql_uses(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("db", "execute", "executemany"):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_no_rollout_module_runs_sql_on_the_ledger():
    assert len(list(ROLLOUT.glob("*.py"))) > 10  # the folder is where this test thinks it is
    offenders = {p.name: uses for p in sorted(ROLLOUT.glob("*.py")) if (uses := _sql_uses(p.read_text("utf-8")))}
    assert offenders == {}


def test_the_check_sees_a_query_on_the_connection():
    assert sorted(_sql_uses("rows = ledger.db.execute('SELECT 1')")) == ["line 1: .db", "line 1: .execute"]
    assert _sql_uses("rows = ledger.every_request()") == []
