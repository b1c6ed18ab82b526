"""JSON Schema contracts: the brain's output (v1) and the ``marketplace.*`` tools' arguments and results.

The schemas are files in the package (``schemas/``) so that other services can read the same
contract. Validation errors name the JSON path and what was expected, in one sentence.
"""

from __future__ import annotations

import json
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import fastjsonschema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from ..errors import ContractViolation

BRAIN_ACTION_TYPES = ("ask_client", "vendor_outreach_plan", "shortlist", "escalate")
QUESTION_MAX = 500
SHORTLIST_MAX = 5


@cache
def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("concierge.contracts").joinpath("schemas", name).read_text("utf-8")
    return json.loads(text)


class Check:
    """One schema, checked twice as fast as it can be and explained as well as it can be.

    Every payload goes through a compiled validator (fastjsonschema generates Python code for the
    schema); only a payload it refuses is run through jsonschema, whose errors carry the path and
    the expectation we report. The schemas use no keyword whose meaning differs between draft-07
    (what the compiler speaks) and 2020-12; tests/unit/test_contracts.py checks the two always agree.
    """

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self.fast = fastjsonschema.compile(
            {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}, use_default=False
        )

    @cached_property
    def slow(self) -> Draft202012Validator:
        # Imported when a payload is first refused: jsonschema is a tenth of a service's start-up
        # imports, and a process (re)started by the black-box harness rarely needs it.
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.schema)

    def fast_ok(self, payload: Any) -> bool:
        try:
            self.fast(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def first_error(self, payload: Any) -> str | None:
        try:  # fast_ok, inline: this runs twice for every tool call
            self.fast(payload)
            return None
        except fastjsonschema.JsonSchemaException:
            pass
        errors = sorted(self.slow.iter_errors(payload), key=lambda e: (list(e.absolute_path), e.message))
        # Both validators read the same schema; should they ever disagree, the compiled one's "no"
        # stands and is reported without a jsonschema path.
        return _describe(errors[0]) if errors else "(top level): refused by the compiled validator"


@cache
def _validator(name: str, part: str | None = None) -> Check:
    schema = load_schema(name)
    if part is not None:
        defs = schema.get("$defs", {})
        schema = {**schema["$defs"][part], "$defs": defs} if part in defs else schema[part]
    return Check(schema)


def _describe(error: ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    where = path.lstrip(".") or "(top level)"
    return f"{where}: {error.message}"


def decode_brain_output(raw: Any) -> Any:
    """Raw brain output (a JSON string or an object) to a Python object, or ContractViolation."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractViolation("brain_output.v1", "output is not UTF-8 text") from exc
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ContractViolation("brain_output.v1", f"output is not JSON ({exc.msg})") from exc
    return raw


def validate_brain_output(raw: Any) -> dict[str, Any]:
    """The validated action, with the domain's soft limits (docs/domain.md) applied (long question and >5 items are
    truncated, not rejected); anything else wrong raises ``ContractViolation`` with the reason."""
    action = decode_brain_output(raw)
    if not isinstance(action, dict):
        raise ContractViolation("brain_output.v1", f"output must be a JSON object, got {type(action).__name__}")
    kind = action.get("type")
    if kind not in BRAIN_ACTION_TYPES:
        raise ContractViolation(
            "brain_output.v1", f"type: {kind!r} is not one of {', '.join(BRAIN_ACTION_TYPES)}"
        )
    action = dict(action)
    if kind == "ask_client" and isinstance(action.get("question_text"), str):
        action["question_text"] = action["question_text"][:QUESTION_MAX]
    if kind == "shortlist" and isinstance(action.get("items"), list):
        action["items"] = action["items"][:SHORTLIST_MAX]
    problem = _validator("brain_output.v1.json", kind).first_error(action)
    if problem:
        raise ContractViolation("brain_output.v1", f"{kind}: {problem}")
    return action


def tool_names() -> tuple[str, ...]:
    return tuple(load_schema("tools.v1.json")["tools"].keys())


def _tool_validator(tool: str, part: str) -> Check:
    return _tool_validators()[(tool, part)]


@lru_cache(maxsize=1)
def _tool_validators() -> dict[tuple[str, str], Check]:
    schema = load_schema("tools.v1.json")
    defs = schema.get("$defs", {})
    out = {}
    for tool, parts in schema["tools"].items():
        for part in ("args", "result"):
            out[(tool, part)] = Check({**parts[part], "$defs": defs})
    return out


class ToolContract:
    """One tool's two checks, found once: a tool call checks its arguments before anything happens
    and its result after (``concierge.tools.Toolbox`` keeps one of these a tool)."""

    __slots__ = ("tool", "_args", "_result")

    def __init__(self, tool: str):
        checks = _tool_validators()
        if (tool, "args") not in checks:
            raise ContractViolation(tool, "unknown tool")
        self.tool = tool
        self._args = checks[(tool, "args")]
        self._result = checks[(tool, "result")]

    def check_args(self, args: dict[str, Any]) -> None:
        problem = self._args.first_error(args)
        if problem:
            raise ContractViolation(f"{self.tool}.args", problem)

    def check_result(self, result: dict[str, Any]) -> None:
        problem = self._result.first_error(result)
        if problem:
            raise ContractViolation(f"{self.tool}.result", problem)


def validate_tool_args(tool: str, args: dict[str, Any]) -> None:
    ToolContract(tool).check_args(args)


def validate_tool_result(tool: str, result: dict[str, Any]) -> None:
    ToolContract(tool).check_result(result)
