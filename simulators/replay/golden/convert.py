"""Translate one golden scenario (already schema-checked) into scenario YAML, saying what differs.

Every golden assertion becomes a check: a faithful one, or the closest one this harness has with a
YAML comment saying how it differs, or (when nothing comes close) a comment saying it could not be
translated; each is counted in the import summary, none is dropped silently.

Order within a step: the production concierge takes the brain's output (`moltbot_output`) after
the step's inbound message arrives; here the scripted brain answers the next consultation, so
`brain_next:` is written before the message that triggers it. A canned `ocr_result` likewise goes
before the image it stands for; then the message, its redelivery (`duplicate`), the call event, the
wait, and last the assertions.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..durations import format_duration
from ..ledger_tables import ledger_tables
from ..vocabulary import STATES
from ..vocabulary_authoring import SEED_REQUIREMENT_KEYS, SEED_STATE_NEEDS

FAITHFUL, APPROXIMATED, UNTRANSLATED = "faithful", "approximated", "not translated"
DOCUMENT_TYPES = {"prescription": "medical_prescription", "medical_prescription": "medical_prescription",
                  "general": "general", "invoice": "general", "receipt": "general", "product": "general"}
MESSAGE_TYPES = {"text": "text", "interactive": "buttons", "button": "buttons", "list": "list",
                 "template": "template"}
TABLE_ALIASES = {"messages": "transcript", "inbound_messages": "inbound", "outbound_messages": "outbound",
                 "vendor_outreach": "outreach", "vendor_replies": "replies", "audit_log": "audit",
                 "ocr": "ocr_jobs", "call_consents": "consents", "shortlist": "shortlists"}


@dataclass
class Note:
    where: str  # "step 3 assert.shortlist_wa_link_count", "initial_state.request.state"
    kind: str  # approximated | not translated
    differs: str

    def comment(self) -> str:
        return f"# {self.where}: {self.kind}: {self.differs}"


@dataclass
class Conversion:
    scenario_id: str
    text: str
    assertions: dict[str, int] = field(default_factory=lambda: {FAITHFUL: 0, APPROXIMATED: 0, UNTRANSLATED: 0})
    notes: list[Note] = field(default_factory=list)


def scenario_id(name: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return "golden_" + (words or "scenario")


class _Converter:
    def __init__(self, golden: dict[str, Any], source: Path, out_dir: Path):
        self.g, self.source, self.out_dir = golden, source, out_dir
        self.out = Conversion(scenario_id(golden["name"]), "")
        self.clients = [c["id"] for c in golden.get("clients") or []]
        self.last_client = self.clients[0] if self.clients else None

    # --- bookkeeping ----------------------------------------------------------------------------
    def note(self, where: str, kind: str, differs: str, into: list[Note]) -> None:
        n = Note(where, kind, differs)
        self.out.notes.append(n)
        into.append(n)

    def counted(self, kind: str) -> None:
        self.out.assertions[kind] += 1

    # --- the file -------------------------------------------------------------------------------
    def convert(self) -> Conversion:
        top_notes: list[Note] = []
        head: dict[str, Any] = {"scenario": self.out.scenario_id,
                                "description": self.g.get("description") or f"Imported golden scenario {self.g['name']}.",
                                "tags": ["imported", *(self.g.get("tags") or [])],
                                "flags": self.flags(top_notes)}
        if self.g.get("vendors"):
            head["vendors"] = [self.vendor(v) for v in self.g["vendors"]]
        if self.g.get("clients"):
            head["clients"] = [{k: c[k] for k in ("id", "phone", "language", "area") if k in c}
                               for c in self.g["clients"]]
        if self.g.get("initial_state"):
            head["initial_state"] = self.initial_state(self.g["initial_state"], top_notes)
        steps: list[tuple[list[Note], list[dict[str, Any]]]] = []
        for i, step in enumerate(self.g["steps"], 1):
            notes: list[Note] = []
            steps.append((notes, self.step(i, step, notes)))
        self.out.text = self.render(head, top_notes, steps)
        return self.out

    def render(self, head: dict[str, Any], top_notes: list[Note], steps: list) -> str:
        lines = [f"# Imported from {self.source.name} by `concierge-sim import golden`; re-import rather than edit.",
                 *(n.comment() for n in top_notes)]
        lines.append(yaml.safe_dump(head, sort_keys=False, allow_unicode=True, width=110).rstrip())
        lines.append("steps:")
        for notes, written in steps:
            lines += [f"  {n.comment()}" for n in notes]
            for item in written:
                dumped = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, width=106).rstrip()
                lines += [f"  {line}" for line in dumped.splitlines()]
        return "\n".join(lines) + "\n"

    def flags(self, notes: list[Note]) -> dict[str, Any]:
        if self.g.get("flags"):
            return dict(self.g["flags"])
        steps = self.g["steps"]
        ocr = any("ocr_result" in s or "image" in (s.get("client_inbound") or {}) for s in steps)
        calling = any("call_event" in s for s in steps) or bool((self.g.get("initial_state") or {}).get("call_consent"))
        self.note("flags", APPROXIMATED, "the golden file sets no flags; the AI path is on for everyone"
                  + (", with OCR" if ocr else "") + (", with calling" if calling else ""), notes)
        return {"FEATURE_AI_CONCIERGE": True, "FEATURE_AI_CONCIERGE_OCR": ocr, "FEATURE_AI_CONCIERGE_CALLING": calling}

    @staticmethod
    def vendor(v: dict[str, Any]) -> dict[str, Any]:
        out = {"id": v["id"], "name": v.get("name") or v["id"].replace("_", " ").title(), "phone": v["phone"],
               "categories": list(v.get("categories") or [v.get("category") or "pharmacy"])}
        out.update({k: v[k] for k in ("area", "rating", "lat", "lng", "language") if k in v})
        return out

    # --- initial state --------------------------------------------------------------------------
    def initial_state(self, state: dict[str, Any], notes: list[Note]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if state.get("client"):
            out["client"] = state["client"]
        if state.get("conversation"):
            out["conversation"] = [{"from": "client" if t["role"] in ("user", "client") else "concierge",
                                    "text": t["text"]} for t in state["conversation"]]
        request = state.get("request")
        if request:
            out["request"] = self.seed_request(request, notes)
        consent = state.get("call_consent")
        if consent and consent != "not_requested":
            if request:
                out["consent"] = {"status": consent, "scope": "either"}
            else:
                self.note("initial_state.call_consent", UNTRANSLATED, "consent belongs to a request here, and the "
                          "golden file seeds none", notes)
        return out

    def seed_request(self, request: dict[str, Any], notes: list[Note]) -> dict[str, Any]:
        requirements = dict(request.get("requirements") or {})
        dropped = sorted(k for k in requirements if k not in SEED_REQUIREMENT_KEYS)
        if dropped:
            self.note("initial_state.request.requirements", APPROXIMATED, f"{', '.join(dropped)} have no equal "
                      f"here (known: {', '.join(SEED_REQUIREMENT_KEYS)}) and are left out", notes)
        out: dict[str, Any] = {"state": request["state"],
                               "requirements": {k: v for k, v in requirements.items() if k in SEED_REQUIREMENT_KEYS}}
        if request.get("outreach"):
            out["outreach"] = [{"vendor": v} for v in request["outreach"]]
        if request.get("replies"):
            out["replies"] = [{"vendor": r["vendor_id"], "text": r["text"]} for r in request["replies"]]
        state = request["state"]
        needs = SEED_STATE_NEEDS.get(state, ((),))[0] if state in SEED_STATE_NEEDS else None
        if needs is None or any(not out.get(part) for part in needs):
            why = (f"{state} cannot be a starting point here" if needs is None else
                   f"a request in {state} needs its {', '.join(p for p in needs if not out.get(p))} seeded too, "
                   "which the golden file does not give")
            self.note("initial_state.request.state", APPROXIMATED, f"{why}; seeded as collecting_requirements", notes)
            out = {"state": "collecting_requirements", "requirements": out["requirements"]}
        return out

    # --- steps ----------------------------------------------------------------------------------
    def step(self, i: int, step: dict[str, Any], notes: list[Note]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        name = step.get("name")
        if "ocr_result" in step:
            out.append({"ocr_result": self.ocr_result(i, step["ocr_result"], notes)})
        if "moltbot_output" in step:
            out.append({"brain_next": step["moltbot_output"]})
        inbound = step.get("client_inbound")
        if inbound is not None:
            out += self.client_inbound(i, inbound, notes)
        if "vendor_inbound" in step:
            v = step["vendor_inbound"]
            msg: dict[str, Any] = {"vendor": v["vendor_id"], "text": v["text"]}
            if v.get("in_reply_to_client"):
                msg["reply_to"] = v["in_reply_to_client"]
            out.append(msg)
        if "call_event" in step:
            event = {"call_event": step["call_event"]["type"]}
            if step["call_event"].get("client_id") and event["call_event"].startswith("consent"):
                event["by"] = step["call_event"]["client_id"]
            out.append(event)
        if "wait_ms" in step:
            out.append({"advance": format_duration(step["wait_ms"] / 1000) if step["wait_ms"] else "0ms"})
        if "assert" in step:
            expect = self.expect(i, step["assert"], notes)
            if len(expect) > 1:  # more than the client it is about
                out.append({"expect": expect})
        if name and out:
            out[0] = {**out[0], "note": name}
        return out

    def ocr_result(self, i: int, ocr: dict[str, Any], notes: list[Note]) -> dict[str, Any]:
        out: dict[str, Any] = {"text": ocr["text"]}
        if "confidence" in ocr:
            out["confidence"] = ocr["confidence"]
        if ocr.get("fields"):
            out["fields"] = {k: {kk: vv for kk, vv in f.items() if kk in ("value", "confidence")}
                             for k, f in ocr["fields"].items()}
        doc = ocr.get("document_type")
        if doc:
            mapped = DOCUMENT_TYPES.get(doc)
            if mapped is None:
                self.note(f"step {i} ocr_result.document_type", APPROXIMATED, f"{doc!r} is not a type here; "
                          "left to the concierge's own reading of the text", notes)
            else:
                if mapped != doc:
                    self.note(f"step {i} ocr_result.document_type", APPROXIMATED,
                              f"production's {doc!r} is {mapped!r} here", notes)
                out["type"] = mapped
        return out

    def client_inbound(self, i: int, inbound: dict[str, Any], notes: list[Note]) -> list[dict[str, Any]]:
        client = inbound.get("client_id") or self.last_client
        self.last_client = client
        msg: dict[str, Any] = {"client": client}
        if "text" in inbound:
            msg["text"] = inbound["text"]
        elif "interactive" in inbound:
            tap = inbound["interactive"]
            key = "button" if tap["kind"] == "button" else "list"
            msg[key] = tap.get("title") or tap["id"]
            self.note(f"step {i} client_inbound.interactive", APPROXIMATED,
                      f"a tap is written by its title{'' if tap.get('title') else ' (the golden file gives only the id)'}; "
                      f"its id is the one this concierge sent with that title, not {tap['id']!r}", notes)
        else:
            msg["image"] = self.media(i, inbound["image"]["media"], notes)
            if inbound["image"].get("caption"):
                msg["caption"] = inbound["image"]["caption"]
        out = [msg]
        if inbound.get("duplicate"):
            out.append({"redeliver": "last"})
        return out

    def media(self, i: int, name: str, notes: list[Note]) -> str:
        for base in (self.source.parent, self.source.parent / "media"):
            if (base / name).is_file():
                return os.path.relpath((base / name).resolve(), self.out_dir.resolve())
        self.note(f"step {i} client_inbound.image", APPROXIMATED, f"media fixture {name!r} not found next to the "
                  "golden file (or in media/); put it there and re-import", notes)
        return name

    # --- assertions -----------------------------------------------------------------------------
    def expect(self, i: int, a: dict[str, Any], notes: list[Note]) -> dict[str, Any]:
        e: dict[str, Any] = {"client": self.last_client} if self.last_client else {}
        where = f"step {i} assert"
        if "request_state" in a:
            state = a["request_state"]
            if state in STATES:
                e["state"] = state
                self.counted(FAITHFUL)
            else:
                close = difflib.get_close_matches(state, STATES, n=1, cutoff=0.0)[0]
                e["state"] = close
                self.counted(APPROXIMATED)
                self.note(f"{where}.request_state", APPROXIMATED, f"no state {state!r} here; checked the closest, "
                          f"{close}", notes)
        if "outbound_messages" in a:
            e["sent"] = self.outbound(f"{where}.outbound_messages", a["outbound_messages"], notes)
        if "vendor_outreach_count" in a:
            e["outreach"] = {"count": a["vendor_outreach_count"]}
            self.counted(FAITHFUL)
        if "shortlist_wa_link_count" in a:
            e["client_received"] = {"count_of": {"wa.me/": a["shortlist_wa_link_count"]}}
            self.counted(APPROXIMATED)
            self.note(f"{where}.shortlist_wa_link_count", APPROXIMATED, "counts wa.me/ links in every message the "
                      "client received, not only in the shortlist", notes)
        if "no_duplicate_outreach" in a:
            if a["no_duplicate_outreach"]:
                self.counted(APPROXIMATED)
                self.note(f"{where}.no_duplicate_outreach", APPROXIMATED, "no expect key: the invariant "
                          "no_vendor_messaged_twice checks it after every step and fails the scenario", notes)
            else:
                self.counted(UNTRANSLATED)
                self.note(f"{where}.no_duplicate_outreach", UNTRANSLATED, "false (duplicates expected) cannot be "
                          "asked for: the invariant no_vendor_messaged_twice forbids them", notes)
        if "injection_flagged" in a:
            e["injection"] = {"flagged": ">=1" if a["injection_flagged"] else 0}
            self.counted(APPROXIMATED)
            self.note(f"{where}.injection_flagged", APPROXIMATED, "counts every message flagged so far in the run, "
                      "not only this step's", notes)
        if "db_row_count" in a:
            rows = self.db_rows(f"{where}.db_row_count", a["db_row_count"], notes)
            if rows:
                e["db_rows"] = rows
        return e

    def outbound(self, where: str, spec: dict[str, Any], notes: list[Note]) -> dict[str, Any]:
        sent: dict[str, Any] = {}
        kind = FAITHFUL
        to = spec.get("to")
        if to in ("client", "user"):
            sent["to"] = self.last_client
        elif to == "vendor":
            kind = APPROXIMATED
            self.note(where, APPROXIMATED, "'to: vendor' names no vendor; checked messages to anyone", notes)
        elif to:
            sent["to"] = to
        if "contains" in spec:
            sent["contains"] = spec["contains"]
        if "type" in spec:
            sent["type"] = MESSAGE_TYPES[spec["type"]]
            if spec["type"] == "interactive":
                kind = APPROXIMATED
                self.note(where, APPROXIMATED, "production's 'interactive' checked as reply buttons (the only "
                          "interactive message this concierge sends); a list would not match", notes)
            if "contains" in spec:
                kind = APPROXIMATED
                self.note(where, APPROXIMATED, "the type is checked on the last message to that recipient, "
                          "the text on any of them", notes)
        self.counted(kind)
        return sent

    def db_rows(self, where: str, spec: dict[str, Any], notes: list[Note]) -> dict[str, Any] | None:
        tables = ledger_tables()
        table = spec["table"]
        ours = table if table in tables else TABLE_ALIASES.get(table)
        if ours is None:
            close = difflib.get_close_matches(table, list(tables), n=1, cutoff=0.6)
            ours = close[0] if close else None
        if ours is None:
            self.counted(UNTRANSLATED)
            self.note(where, UNTRANSLATED, f"no ledger table like {table!r} here (tables: {', '.join(tables)})", notes)
            return None
        where_in = dict(spec.get("where") or {})
        kept = {k: v for k, v in where_in.items() if k in tables[ours]}
        lost = sorted(set(where_in) - set(kept))
        if ours != table or lost:
            self.counted(APPROXIMATED)
            differs = [f"production's table {table!r} is {ours!r} here"] if ours != table else []
            differs += [f"no column {', '.join(lost)} in {ours}: that filter is left out"] if lost else []
            self.note(where, APPROXIMATED, "; ".join(differs), notes)
        else:
            self.counted(FAITHFUL)
        return {"table": ours, **({"where": kept} if kept else {}), "count": spec["count"]}


def convert(golden: dict[str, Any], source: Path, out_dir: Path) -> Conversion:
    return _Converter(golden, source, out_dir).convert()
