"""The JSON Schema of a scenario file, generated from the format's vocabulary, for editors.

An editor with the YAML language server completes keys and flags typos while the author types; the
loader remains the judge (it checks what a schema cannot: ids that exist, phones, places, fixture
files). The schema is built from the same tuples the loader reads (``vocabulary``, ``check_expect.EXPECT``,
``concierge.flags``, ``concierge.policy.Caps``), so a key added there appears here; a value whose
shape this module does not know yet is allowed as anything rather than refused.

``python -m simulators.replay.generated_docs`` regenerates ``docs/scenario.schema.json``; a test
fails when the committed file differs from what the vocabulary gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from concierge.flags import ALLOWLIST, KNOWN_KEYS, PERCENT
from concierge.policy import Caps

from . import check_expect as ex
from . import vocabulary as v

SCHEMA_ID = "https://concierge-sim.invalid/docs/scenario.schema.json"  # a name, never fetched
PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "scenario.schema.json"

_TEXT = {"type": "string"}
_TEXTS = {"anyOf": [_TEXT, {"type": "array", "items": _TEXT}]}
_COUNT = {"anyOf": [{"type": "integer", "minimum": 0},
                    {"type": "string", "pattern": r"^\s*(>=|<=|>|<|==|!=)?\s*\d+\s*$"}],
          "description": 'a whole number (3) or a comparison like ">=3", "<2", "!=0"'}
_DURATION = {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?\s*(d|h|m|s|ms)\s*)+$",
             "description": "a duration with its unit: 90s, 4m, 1h30m, 500ms"}


def _enum(values: tuple[str, ...]) -> dict[str, Any]:
    return {"enum": list(values)}


_LEAVES: dict[str, dict[str, Any]] = {
    ex.COUNT: _COUNT, ex.BOOL: {"type": "boolean"}, ex.TEXTS: _TEXTS, ex.TEXT_LIST: _TEXTS,
    ex.VENDOR: _TEXT, ex.VENDORS: _TEXTS, ex.STATE: _enum(v.STATES), ex.CLIENT: _TEXT,
    ex.STATE_LIST: {"type": "array", "items": _enum(v.STATES)}, "text": _TEXT,
}


def _leaf(rule: Any) -> dict[str, Any]:
    if isinstance(rule, tuple):
        return _enum(rule)
    if isinstance(rule, dict):
        return _object({k: _leaf(r) for k, r in rule.items()})
    return _LEAVES.get(rule, {})


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


def _expect() -> dict[str, Any]:
    schema = _leaf(ex.EXPECT)
    for key, required in ex.EXPECT_REQUIRED.items():
        if key in schema["properties"]:
            schema["properties"][key]["required"] = list(required)
    schema["minProperties"] = 1
    return schema


def _media() -> dict[str, Any]:
    render = _object({"render": _enum(v.RENDER_KINDS), "items": {"type": "array", "items": {"type": "object"}},
                      "lines": {"type": "array"}, "degrade": _enum(v.RENDER_LEVELS),
                      "seed": {"type": "integer"}, "title": _TEXT}, ("render",))
    render["properties"] = {k: render["properties"].get(k, {}) for k in v.RENDER_KEYS}
    return {"anyOf": [{"type": "string", "description": "a fixture file (.png, .jpg, .jpeg, .pdf)"}, render]}


_ACTION_VALUES: dict[str, Any] = {
    "client": {"type": "string", "description": "a client id from clients:"},
    "vendor": {"type": "string", "description": "a vendor id from vendors:"},
    "redeliver": {"type": "string", "description": "`last`, or an earlier message step's id"},
    "advance": _DURATION,
    "brain_next": {"description": "the brain's next output, exactly (any JSON: the contract is under test)"},
    "call_status": _enum(v.CALL_STATUSES),
}
_EXTRA_VALUES: dict[str, Any] = {"text": _TEXT, "caption": _TEXT, "button": _TEXT}


def _fault() -> dict[str, Any]:
    props = {"target": _enum(v.FAULT_TARGETS), "kind": _enum(v.FAULT_KINDS),
             "status": {"type": "integer"}, "times": {"type": "integer", "minimum": 1},
             "retry_after": {"type": "number", "minimum": 0}}
    return _object({k: props.get(k, {}) for k in v.FAULT_KEYS}, ("target",))


def _step() -> dict[str, Any]:
    values = {**_ACTION_VALUES, "fault": _fault(), "expect": _expect()}
    extras = {**_EXTRA_VALUES, "image": _media(), "document": _media()}
    props: dict[str, Any] = {a: values.get(a, {}) for a in v.ACTIONS}
    for keys in v.STEP_EXTRA.values():
        props.update({k: extras.get(k, {}) for k in keys if k not in props})
    props["id"] = {"type": "string", "description": "lets `redeliver:` name this step"}
    props["note"] = _TEXT
    step = _object(props)
    step["oneOf"] = [{"required": [a]} for a in v.ACTIONS]  # exactly one action key
    return step


def _flags() -> dict[str, Any]:
    boolean = {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}]}
    props = {k: boolean for k in KNOWN_KEYS}
    props[ALLOWLIST] = {"anyOf": [_TEXT, {"type": "array", "items": _TEXT}],
                        "description": "E.164 phones, comma-separated or a list"}
    props[PERCENT] = {"anyOf": [{"type": "number", "minimum": 0, "maximum": 100}, _TEXT, {"type": "null"}]}
    return _object(props)


def _caps() -> dict[str, Any]:
    props = {}
    for name in Caps.names():
        number = {"type": "number" if name.endswith("_s") else "integer", "minimum": 0}
        props[name] = {"anyOf": [number, _DURATION]} if name.endswith("_s") else number
    return _object(props)


def _party(keys: tuple[str, ...], required: tuple[str, ...], bools: tuple[str, ...] = ()) -> dict[str, Any]:
    known = {"id": _TEXT, "name": _TEXT, "phone": {"type": ["string", "integer"]}, "area": _TEXT, "language": _enum(v.LANGUAGES),
             "categories": _TEXTS, "tags": _TEXTS, "lat": {"type": "number"}, "lng": {"type": "number"},
             "rating": {"type": "number", "minimum": 0, "maximum": 5}, "avg_response_minutes": {"type": "number"}}
    props = {k: ({"type": "boolean"} if k in bools else known.get(k, {})) for k in keys}
    return _object(props, required)


def _brain() -> dict[str, Any]:
    known = {"provider": _enum(v.BRAIN_PROVIDERS), "model": _TEXT, "cassette": _TEXT,
             "mode": _enum(v.CASSETTE_MODES), "base_url": _TEXT, "api_key_env": _TEXT, "prompt": _TEXT,
             "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
             "retries": {"type": "integer", "minimum": 0}}
    return _object({k: known.get(k, {}) for k in v.BRAIN_KEYS}, ("provider", "model"))


def scenario_schema() -> dict[str, Any]:
    top: dict[str, Any] = {
        "scenario": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "unique snake_case id"},
        "description": _TEXT, "tags": _TEXTS, "seed": {"type": "integer"}, "flags": _flags(),
        "caps": _caps(),
        "vendors": {"anyOf": [{"type": "string", "description": "a vendor fixture file (YAML or CSV)"},
                              {"type": "array", "items": _party(v.VENDOR_KEYS, ("id", "phone"), v.VENDOR_BOOLS)}]},
        "clients": {"type": "array", "items": _party(v.CLIENT_KEYS, ("id", "phone"))},
        "steps": {"type": "array", "minItems": 1, "items": _step()},
        "expected_log_errors": _TEXTS,
        "brain": _brain(),
    }
    schema = _object({k: top.get(k, {}) for k in v.TOP_KEYS}, ("scenario", "steps"))
    return {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID,
            "title": "concierge-sim scenario file",
            "description": "Generated from simulators/replay/vocabulary.py by `python -m "
                           "simulators.replay.generated_docs`; the contract is docs/scenario-format.md.", **schema}


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

