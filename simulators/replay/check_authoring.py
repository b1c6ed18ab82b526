"""Checks of the authoring steps: `ocr_result:` (a canned OCR reading) and `call_event:`.

Registered into ``check_steps``'s table of step checks; each reports through the ``Checker`` like
the base steps, naming file, line and key.
"""

from __future__ import annotations

from typing import Any

from .check_refs import StepContext, check_party
from .checker import Checker, describe, is_number
from .vocabulary import OCR_TYPES
from .vocabulary_authoring import CALL_EVENTS, OCR_FIELD_KEYS, OCR_RESULT_KEYS
from .yamlsource import NODE_BUDGET, Map, plain


def _confidence(c: Checker, value: Any, line: int, key: str) -> None:
    if not (is_number(value) and 0 <= value <= 1):
        c.add(line, key, f"expected a confidence from 0 to 1 (e.g. 0.62), got {describe(value)}")


def step_ocr_result(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    spec, key = raw["ocr_result"], f"{where} ocr_result"
    if not c.mapping(spec, raw.key_line("ocr_result"), key,
                     "{text: \"Amoxicillin 500mg ...\", confidence: 0.9, type: medical_prescription}"):
        return
    kl, before = spec.key_line, len(c.problems)
    c.unknown_keys(spec, OCR_RESULT_KEYS, f"{key}.")
    if "text" in spec and "lines" in spec:
        c.add(kl("lines"), f"{key}.lines", "give text: or lines:, not both")
    elif "text" not in spec and "lines" not in spec:
        c.add(spec.line, key, "a canned reading needs text: (the words read) or lines: [...]; "
                              "an empty reading is `text: \"\"`")
    if "text" in spec:
        c.text(spec["text"], kl("text"), f"{key}.text", empty_ok=True)
    if "lines" in spec and not (isinstance(spec["lines"], list) and all(isinstance(x, str) for x in spec["lines"])):
        c.add(kl("lines"), f"{key}.lines", f"expected a list of text lines, got {describe(spec['lines'])}")
    if "confidence" in spec:
        _confidence(c, spec["confidence"], kl("confidence"), f"{key}.confidence")
    fields = spec.get("fields")
    if fields is not None and c.mapping(fields, kl("fields"), f"{key}.fields",
                                        "field names to {value, confidence}"):
        for name, field in fields.items():
            fkey, fline = f"{key}.fields.{name}", fields.key_line(name)
            if isinstance(field, Map):
                c.unknown_keys(field, OCR_FIELD_KEYS, f"{fkey}.")
                if "value" not in field:
                    c.add(field.line, f"{fkey}.value", "missing; a field needs value: (the text it reads)")
                if "confidence" in field:
                    _confidence(c, field["confidence"], field.key_line("confidence"), f"{fkey}.confidence")
            elif not isinstance(field, (str, int, float)) or isinstance(field, bool):
                c.add(fline, fkey, f"expected a value or {{value, confidence}}, got {describe(field)}")
    if "type" in spec and c.choice(spec["type"], OCR_TYPES, kl("type"), f"{key}.type") and len(c.problems) == before:
        _type_matches(c, spec, kl("type"), f"{key}.type")
    extra["ocr_result"] = plain(spec, [NODE_BUDGET])


def _type_matches(c: Checker, spec: Map, line: int, key: str) -> None:
    """The type is the concierge's own reading of the text (Tesseract never names one): a canned
    text that the concierge would classify otherwise cannot stand for that document."""
    from concierge.ocr_classify import classify

    from .canned_ocr import canned_page

    got = classify(canned_page(plain(spec, [NODE_BUDGET])).text, None)
    if got != spec["type"]:
        c.add(line, key, f"the concierge reads this text as {got}, not {spec['type']} (without a caption); "
                         "change the text or the type")


def step_call_event(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    c.choice(raw["call_event"], tuple(CALL_EVENTS), raw.key_line("call_event"), f"{where} call_event")
    if "by" in raw:  # the client whose consent it is (default: who spoke last)
        check_party(c, raw["by"], raw.key_line("by"), f"{where} by", ctx.client_ids, "client")


def step_include(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    """Reached only for an include the loader could not expand; it already said why."""


def vendor_reply_to(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    if "reply_to" in raw:
        check_party(c, raw["reply_to"], raw.key_line("reply_to"), f"{where} reply_to", ctx.client_ids, "client")


# Checks of keys the authoring features add to a base step, run after the step's own check.
AUTHORING_STEP_EXTENSIONS = {"vendor": vendor_reply_to}
AUTHORING_STEP_CHECKS = {"ocr_result": step_ocr_result, "call_event": step_call_event, "include": step_include}
