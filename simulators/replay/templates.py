"""``concierge-sim new NAME --template KIND``: scenario files that pass as generated.

Each template is a complete, commented scenario against the shared Kigali vendor fixture, so a new
author starts from something green and changes one thing at a time.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

_HEADER = """\
scenario: {name}
description: {description}
tags: [{tags}]
seed: 0
flags:
  FEATURE_AI_CONCIERGE: true
{extra_flags}vendors: {vendors}        # or an inline list: - {{id, name, phone, categories, area}}
clients:
  - {{id: alice, phone: "+250780000001", language: en, area: Kimironko}}
steps:
"""

_BODIES = {
    "happy-path": ("A client asks for a medicine; three pharmacies answer; the shortlist is delivered.",
                   "phase0, shortlist", "", """\
  - client: alice
    text: "I need Amoxicillin 500mg, 21 capsules, near Kimironko"
  - expect:
      state: awaiting_vendor_replies
      outreach: {count: 3, batches: 1}
  - vendor: pharma_plus
    text: "1. yes 2. 3,500 3. Kimironko market"
  - vendor: remera_pharmacy
    text: "1. yes 2. 3000-4000 3. Remera"
  - vendor: kimironko_meds
    text: "yes available 4000"
  - expect:
      state: handed_off
      shortlist: {size: 3}
      client_received: {contains: "https://wa.me/"}
"""),
    "dedupe": ("Meta delivers the client's message twice: one ledger row, one processing.",
               "phase0, dedupe", "", """\
  - id: first_message
    client: alice
    text: "I need paracetamol near Kimironko"
  - redeliver: first_message
  - expect:
      ledger: {inbound: 1}
      outreach: {count: 3}
      audit: {event: inbound.duplicate_suppressed, count: 1}
"""),
    "stop": ("A vendor replies STOP: opted out for good, one confirmation, never contacted again.",
             "phase0, stop", "", """\
  - client: alice
    text: "I need paracetamol near Kimironko"
  - vendor: pharma_plus
    text: "STOP"
  - expect:
      vendor_opted_out: [pharma_plus]
      vendor_received: {vendor: pharma_plus, count: 2}
"""),
    "ocr": ("A clear photo of a prescription: the drug is read and pharmacies are asked.",
            "phase0, ocr", "  FEATURE_AI_CONCIERGE_OCR: true\n", """\
  - client: alice
    image: {render: prescription, items: [{drug: Amoxicillin, dose: 500mg, form: capsules, quantity: 21}]}
    caption: "Kimironko please"
  - advance: 5s                 # an OCR job takes 5 virtual seconds
  - expect:
      ocr: {jobs: 1, status: completed, type: medical_prescription, drugs: [Amoxicillin]}
"""),
    "calling": ("Calling is off: the call tool answers disabled and no call is placed.",
                "phase0, calling", "  FEATURE_AI_CONCIERGE_CALLING: false\n", """\
  - client: alice
    text: "I need paracetamol near Kimironko"
  - expect:
      calls: {count: 0}
      consent: not_requested
"""),
}


def scaffold(name: str, template: str, folder: Path) -> Path:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"name {name!r} must be snake_case (letters, digits, _; starting with a letter)")
    if template not in _BODIES:
        raise ValueError(f"unknown template {template!r}; expected one of {', '.join(_BODIES)}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    if path.exists():
        raise ValueError(f"{path} already exists; choose another name")
    fixture = Path("fixtures/vendors/kigali.yaml").resolve()
    vendors = os.path.relpath(fixture, folder.resolve()) if fixture.exists() else "fixtures/vendors/kigali.yaml"
    description, tags, flags, body = _BODIES[template]
    path.write_text(
        _schema_line(folder)
        + _HEADER.format(name=name, description=json.dumps(description), tags=tags, extra_flags=flags, vendors=vendors) + body,
        "utf-8",
    )
    return path


def _schema_line(folder: Path) -> str:
    """The YAML language server's pointer to the published schema (completion and typos in editors)."""
    from .schema import PUBLISHED

    local = Path("docs/scenario.schema.json").resolve()
    schema = local if local.exists() else PUBLISHED
    if not schema.exists():
        return ""
    return f"# yaml-language-server: $schema={Path(os.path.relpath(schema, folder.resolve())).as_posix()}\n"
