"""Reading a golden JSON file: parsed, then checked against its JSON Schema, every problem at once.

A problem names the file and the JSON path of the offending value (`file.json:$.steps[2].assert`),
or for a syntax error the file, line and column; never a traceback.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator


class GoldenInvalid(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@cache
def golden_schema() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("golden.schema.json").read_text("utf-8"))


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def read_golden(path: Path) -> dict[str, Any]:
    file = str(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise GoldenInvalid([f"{file}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenInvalid([f"{file}: cannot read the file ({exc}); expected UTF-8 JSON"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoldenInvalid([f"{file}:{exc.lineno}:{exc.colno} json: {exc.msg}"]) from None
    errors = sorted(Draft202012Validator(golden_schema()).iter_errors(data),
                    key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        raise GoldenInvalid([f"{file}:{_path(e.absolute_path)}: {_message(e)}" for e in errors])
    return data


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties") or {})
        return f"{error.message}; expected only: {', '.join(allowed)}"
    if error.validator == "oneOf" and error.schema is golden_schema()["$defs"]["client_inbound"]:
        return "a client_inbound carries exactly one of text, interactive, image"
    return error.message
