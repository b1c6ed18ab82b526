"""Vendor fixture files (a YAML list or a CSV with a header row) read into rows with line numbers.

Only the file's shape is checked here; each vendor is checked where a scenario uses the fixture,
so a CSV row's problems point at its line like a YAML entry's do.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from .checker import describe
from .model import Problem, ScenarioInvalid
from .vocabulary import VENDOR_BOOLS
from .yamlsource import NODE_BUDGET, Cyclic, Map, Seq, parse_yaml, plain, read_text

_CSV_FLOATS = ("lat", "lng", "rating", "avg_response_minutes")
_CSV_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def read_vendor_rows(path: Path, file: str) -> tuple[list[Map], list[Problem]]:
    text, problems = read_text(path, file)
    if text is None:
        return [], problems
    if path.suffix.lower() == ".csv":
        return _csv_rows(text, file)
    data, problems = parse_yaml(text, file)
    if isinstance(data, Map) and isinstance(data.get("vendors"), list):
        data = data["vendors"]  # {vendors: [...]} is accepted too, as simulators/vendors.py does
    if data is None and not problems:
        problems = [Problem(file, 1, "vendors", "the fixture is empty; expected a list of vendor mappings")]
    elif data is not None and not isinstance(data, list):
        problems.append(Problem(file, getattr(data, "line", 1), "vendors",
                                f"expected a list of vendor mappings, got {describe(data)}"))
    return (data if isinstance(data, list) else []), problems


def _csv_rows(text: str, file: str) -> tuple[list[Map], list[Problem]]:
    problems: list[Problem] = []
    rows: list[Map] = []
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames
        if not header:
            return [], [Problem(file, 1, "vendors", "the CSV has no header row; expected id,name,phone,categories,...")]
        for row in reader:
            line = reader.line_num
            m = Map()
            m.line, m.key_lines = line, {}
            for key, value in row.items():
                if key is None:
                    problems.append(Problem(file, line, "vendors", "the row has more cells than the header"))
                    continue
                if value is None or not str(value).strip():
                    continue  # an empty cell is a missing value, so defaults apply
                key, value = key.strip(), value.strip()
                if key in _CSV_FLOATS:
                    try:
                        value = float(value)
                    except ValueError:
                        pass  # left as text: the vendor check reports "expected a number"
                elif key in VENDOR_BOOLS:
                    value = _CSV_BOOLS.get(value.lower(), value)
                m[key], m.key_lines[key] = value, line
            rows.append(m)
    except csv.Error as exc:
        problems.append(Problem(file, 1, "vendors", f"cannot read the CSV: {exc}"))
    seq = Seq(rows)
    seq.line, seq.item_lines = 1, [r.line for r in rows]
    return seq, problems


def load_vendor_fixture(path: str | Path) -> list[dict[str, Any]]:
    """A YAML list or a CSV file (header row) of vendor mappings, as plain dicts.

    Only the file's shape is checked here (readable, a list); each vendor is checked when a scenario
    uses the fixture. Raises ``ScenarioInvalid``.
    """
    p = Path(path)
    rows, problems = read_vendor_rows(p, str(path))
    if problems:
        raise ScenarioInvalid(problems)
    try:
        return [plain(r, [NODE_BUDGET]) for r in rows]
    except (Cyclic, RecursionError) as exc:
        raise ScenarioInvalid([Problem(str(path), 1, "vendors", str(exc) or "the fixture nests too deeply")]) from None
