"""Probes for the gate: drive a fresh world directly where a scenario file cannot reach.

Each probe returns plain data (the gate's evidence). They use the same SimWorld, concierge and
tools as scenarios; nothing here is a stand-in for the code under test.
"""

from __future__ import annotations

from typing import Any

from concierge.contracts import tool_names
from concierge.errors import ContractViolation
from concierge.flags import Flags, parse_bool
from concierge.lifecycle import ALLOWED, RequestState, all_pairs

from ..vendors import load_vendor_fixtures
from ..world import SimWorld, WorldConfig

CLIENT = "+250780000099"


def _world(flags: Flags | None = None) -> SimWorld:
    from pathlib import Path

    folder = Path("fixtures/vendors")
    vendors = load_vendor_fixtures(folder) if folder.exists() else []
    return SimWorld(WorldConfig(vendors=vendors, flags=flags or Flags()))


def probe_flags_off() -> dict[str, Any]:
    """No flags at all, as in a clean production environment."""
    out: dict[str, Any] = {}
    defaults = Flags.from_mapping({})
    out["defaults"] = defaults.describe()
    out["ok_defaults_false"] = not (defaults.ai or defaults.ocr or defaults.calling)
    garbage = ["", "maybe", "TRUE!", "2", "yes please", None, [], {}, "off", "0", "nan"]
    out["ok_unparsable_false"] = not any(parse_bool(v) for v in garbage)
    out["clean_environment"] = _flags_in_clean_process()
    out["ok_clean_environment"] = out["clean_environment"] == {
        "FEATURE_AI_CONCIERGE": False, "FEATURE_AI_CONCIERGE_OCR": False, "FEATURE_AI_CONCIERGE_CALLING": False,
    }
    world = _world(Flags.from_mapping({}))
    try:
        world.message_from(CLIENT, kind="text", text="I need paracetamol near Kimironko")
        request = world.ledger.latest_request(CLIENT)
        out["handled_by"] = request.data.get("handled_by") if request else None
        out["ok_coded_workflow"] = out["handled_by"] == "coded"
        media_id = world.whatsapp.put_media(b"\x89PNG\r\n\x1a\n not really", "image/png")
        world.message_from(CLIENT, kind="image", media_id=media_id, mime_type="image/png")
        out["ocr_jobs"] = len(world.ledger.ocr_jobs(request.id)) if request else None
        out["ok_ocr_off"] = out["ocr_jobs"] == 0 and bool(world.ledger.audit_events("ocr.disabled"))
        result = world.concierge.tools.call(
            "marketplace.start_call",
            {"request_id": request.id if request else None, "idempotency_key": "probe-call",
             "actor": "system", "target": "client"},
            world.clock.now(),
        )
        out["start_call"] = result
        out["ok_calling_disabled"] = result == {"success": False, "reason": "disabled", "gate": "disabled",
                                                 "call_id": None}
    finally:
        world.close()
    return out


def _flags_in_clean_process() -> dict[str, Any]:
    """What a fresh process with no FEATURE_* variables reads (production reads ``os.environ``)."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FEATURE_", "AI_CONCIERGE_"))}
    code = ("import json, os; from concierge.flags import Flags; f = Flags.from_mapping(os.environ); "
            "print(json.dumps({'FEATURE_AI_CONCIERGE': f.ai, 'FEATURE_AI_CONCIERGE_OCR': f.ocr, "
            "'FEATURE_AI_CONCIERGE_CALLING': f.calling}))")
    try:
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=60, check=True)
        return json.loads(proc.stdout)
    except (subprocess.SubprocessError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _request_in(world: SimWorld, state: RequestState) -> str:
    """A request placed directly in a state (the probe tests the machine, not the path to it)."""
    return world.ledger.create_request(CLIENT, state.value, world.clock.now(), {})


def probe_forbidden_transitions() -> dict[str, bool]:
    """Attempt every forbidden pair through the update_request_state tool; True where refused."""
    out: dict[str, bool] = {}
    world = _world()
    try:
        for source, dest in all_pairs():
            if (source, dest) in ALLOWED:
                continue
            request_id = _request_in(world, source)
            result = world.concierge.tools.call(
                "marketplace.update_request_state",
                {"request_id": request_id, "idempotency_key": f"probe:{source.value}:{dest.value}",
                 "actor": "admin", "to_state": dest.value, "reason": "gate probe"},
                world.clock.now(),
            )
            state = world.ledger.get_request(request_id).state
            audited = any(
                e["data"].get("dest") == dest.value
                for e in world.ledger.audit_events("state.transition_refused", request_id)
            )
            out[f"{source.value}->{dest.value}"] = (not result["success"]) and state == source.value and audited
    finally:
        world.close()
    return out


_INVALID_ARGS = {"request_id": 12, "idempotency_key": "", "actor": "robot", "unexpected": True}


def probe_invalid_tool_args() -> dict[str, bool]:
    """Every tool refuses arguments that break its schema, before doing anything."""
    out: dict[str, bool] = {}
    world = _world()
    try:
        for tool in tool_names():
            before = world.ledger.tool_calls()
            try:
                world.concierge.tools.call(tool, dict(_INVALID_ARGS), world.clock.now())
            except ContractViolation:
                out[tool] = world.ledger.tool_calls() == before
            else:
                out[tool] = False
    finally:
        world.close()
    return out
