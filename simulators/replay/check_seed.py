"""Checks of the authoring top-level keys: `initial_state:` (a seeded starting point), `xfail:`, `skip:`.

A seed that could not have happened (handed off without a shortlist, a reply from a vendor nobody
asked, outreach before the need is known) is a file error here, with its line; what the loader
cannot see (caps, the lifecycle's own rules) the runner's invariants check once the seed is applied.
"""

from __future__ import annotations

from typing import Any

from .check_refs import check_party
from .checker import Checker, describe
from .vocabulary import STATES
from .vocabulary_authoring import (
    SEED_COMPLETE_NEED,
    SEED_CONSENT_KEYS,
    SEED_CONSENT_SCOPES,
    SEED_CONSENT_STATUSES,
    SEED_KEYS,
    SEED_OUTREACH_KEYS,
    SEED_OUTREACH_STATUSES,
    SEED_REPLY_KEYS,
    SEED_REQUEST_KEYS,
    SEED_REQUIREMENT_KEYS,
    SEED_STATE_ALLOWS,
    SEED_STATE_NEEDS,
    SEED_STATES,
    SEED_TURN_KEYS,
    SEED_TURN_SOURCES,
)
from .yamlsource import NODE_BUDGET, Map, Seq, plain

SEED_PARTS = ("outreach", "replies", "shortlist")


def check_authoring_top(c: Checker, data: Map, vendor_ids: set[str], client_ids: set[str]) -> dict[str, Any]:
    """The Scenario fields of the authoring keys (empty when none is given)."""
    out: dict[str, Any] = {}
    for key in ("xfail", "skip"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or value is None:
                c.add(data.key_line(key), key, f"{key} needs a reason, e.g. {key}: \"issue 42: the shortlist "
                                               f"ignores the budget\"; got {describe(value)}")
            elif c.text(value, data.key_line(key), key):
                out[key] = value.strip()
    if "xfail" in out and "skip" in out:
        c.add(data.key_line("skip"), "skip", "a scenario is either skipped or expected to fail, not both")
    if "initial_state" in data:
        seed = _check_seed(c, data["initial_state"], data.key_line("initial_state"), vendor_ids, client_ids)
        if seed is not None:
            out["initial_state"] = seed
            out["initial_state_line"] = data.key_line("initial_state")
    return out


def _check_seed(c: Checker, seed: Any, line: int, vendor_ids: set[str], client_ids: set[str]) -> dict | None:
    key = "initial_state"
    if not c.mapping(seed, line, key, ", ".join(SEED_KEYS)):
        return None
    before = len(c.problems)
    c.unknown_keys(seed, SEED_KEYS, f"{key}.")
    if "client" in seed:
        check_party(c, seed["client"], seed.key_line("client"), f"{key}.client", client_ids, "client")
    elif not client_ids:
        c.add(seed.line, f"{key}.client", "a seed belongs to a client; add a `clients:` list")
    request = seed.get("request")
    if request is not None:
        _check_request(c, request, seed.key_line("request"), vendor_ids)
    elif "consent" in seed:
        c.add(seed.key_line("consent"), f"{key}.consent", "consent belongs to a request; seed request: too")
    conversation = seed.get("conversation")
    if conversation is not None:
        _check_list(c, conversation, seed.key_line("conversation"), f"{key}.conversation", SEED_TURN_KEYS,
                    ("from", "text"), {"from": SEED_TURN_SOURCES})
    consent = seed.get("consent")
    if consent is not None and c.mapping(consent, seed.key_line("consent"), f"{key}.consent",
                                         "status: requested|granted|denied, scope"):
        c.unknown_keys(consent, SEED_CONSENT_KEYS, f"{key}.consent.")
        if "status" not in consent:
            c.add(consent.line, f"{key}.consent.status", f"missing; one of {', '.join(SEED_CONSENT_STATUSES)}")
        else:
            c.choice(consent["status"], SEED_CONSENT_STATUSES, consent.key_line("status"), f"{key}.consent.status")
        if "scope" in consent:
            c.choice(consent["scope"], SEED_CONSENT_SCOPES, consent.key_line("scope"), f"{key}.consent.scope")
    if len(c.problems) > before:
        return None
    return plain(seed, [NODE_BUDGET])


def _check_request(c: Checker, request: Any, line: int, vendor_ids: set[str]) -> None:
    key = "initial_state.request"
    if not c.mapping(request, line, key, ", ".join(SEED_REQUEST_KEYS)):
        return
    c.unknown_keys(request, SEED_REQUEST_KEYS, f"{key}.")
    state = request.get("state", "collecting_requirements")
    if state in STATES and state not in SEED_STATES:
        c.add(request.key_line("state"), f"{key}.state",
              f"{state} lasts only while the concierge works (or ends the request); a seed starts in one of "
              f"{', '.join(SEED_STATES)}")
        return
    if not c.choice(state, SEED_STATES, request.key_line("state"), f"{key}.state"):
        return
    requirements = request.get("requirements") or Map()
    if "requirements" in request:
        _check_requirements(c, requirements, request.key_line("requirements"), f"{key}.requirements")
    if "language" in request:
        from .vocabulary import LANGUAGES

        c.choice(request["language"], LANGUAGES, request.key_line("language"), f"{key}.language")
    needs, why = SEED_STATE_NEEDS[state]
    state_line = request.key_line("state")
    if state != "collecting_requirements" and isinstance(requirements, dict):
        missing = [k for k in SEED_COMPLETE_NEED if not requirements.get(k)]
        if missing:
            c.add(state_line, f"{key}.state", f"{state} needs a complete need, but requirements lack "
                                              f"{', '.join(missing)}; outreach starts only once the item, "
                                              "the category and the place are known")
    for part in SEED_PARTS:
        if part in needs and not request.get(part):
            c.add(state_line, f"{key}.state", f"{state} without {part}: is impossible: {why}")
        elif part in request and part not in needs and part not in SEED_STATE_ALLOWS[state]:
            c.add(request.key_line(part), f"{key}.{part}", f"a request in {state} has no {part} yet; "
                                                           f"{part} belongs to "
                                                           f"{', '.join(s for s, (n, _) in SEED_STATE_NEEDS.items() if part in n or part in SEED_STATE_ALLOWS[s])}")
    asked = _check_list(c, request.get("outreach"), request.key_line("outreach"), f"{key}.outreach",
                        SEED_OUTREACH_KEYS, ("vendor",), {"status": SEED_OUTREACH_STATUSES},
                        vendor_ids) if "outreach" in request else {}
    replied = _check_list(c, request.get("replies"), request.key_line("replies"), f"{key}.replies",
                          SEED_REPLY_KEYS, ("vendor", "text"), {}, vendor_ids) if "replies" in request else {}
    for vendor, reply_line in replied.items():
        if vendor in vendor_ids and vendor not in asked:
            c.add(reply_line, f"{key}.replies", f"{vendor} replies, but it was never asked; add it to outreach:")
    if "shortlist" in request:
        shortlist = request["shortlist"]
        items = [shortlist] if isinstance(shortlist, str) else shortlist
        if not isinstance(items, list) or not items:
            c.add(request.key_line("shortlist"), f"{key}.shortlist", f"expected a list of vendor ids, got "
                                                                     f"{describe(shortlist)}")
            return
        for i, vendor in enumerate(items):
            item_line = items.item_line(i) if isinstance(items, Seq) else request.key_line("shortlist")
            if check_party(c, vendor, item_line, f"{key}.shortlist[{i}]", vendor_ids, "vendor") \
                    and vendor not in replied:
                c.add(item_line, f"{key}.shortlist[{i}]", f"{vendor} is shortlisted but never replied; "
                                                          "a shortlist is made of vendor replies")


def _check_requirements(c: Checker, value: Any, line: int, key: str) -> None:
    if not c.mapping(value, line, key, ", ".join(SEED_REQUIREMENT_KEYS)):
        return
    c.unknown_keys(value, SEED_REQUIREMENT_KEYS, f"{key}.")
    for name in ("item", "place", "quantity"):
        if name in value:
            c.text(value[name], value.key_line(name), f"{key}.{name}")
    if "category" in value:
        from concierge.need_taxonomy import categories

        c.choice(value["category"], categories(), value.key_line("category"), f"{key}.category")
    if "budget_max" in value and not (isinstance(value["budget_max"], int) and not isinstance(value["budget_max"], bool)
                                      and value["budget_max"] > 0):
        c.add(value.key_line("budget_max"), f"{key}.budget_max",
              f"expected a whole number of RWF > 0, got {describe(value['budget_max'])}")
    if "urgent" in value:
        c.boolean(value["urgent"], value.key_line("urgent"), f"{key}.urgent")


def _check_list(c: Checker, value: Any, line: int, key: str, allowed: tuple[str, ...], required: tuple[str, ...],
                choices: dict[str, tuple[str, ...]], vendor_ids: set[str] | None = None) -> dict[str, int]:
    """A list of mappings; returns vendor id -> line for the items that name one."""
    seen: dict[str, int] = {}
    if not isinstance(value, list) or not value:
        c.add(line, key, f"expected a list of mappings ({', '.join(allowed)}), got {describe(value)}")
        return seen
    for i, item in enumerate(value):
        ikey, iline = f"{key}[{i}]", value.item_line(i) if isinstance(value, Seq) else line
        if not c.mapping(item, iline, ikey, ", ".join(allowed)):
            continue
        c.unknown_keys(item, allowed, f"{ikey}.")
        for req in required:
            if req not in item:
                c.add(item.line, f"{ikey}.{req}", f"missing; each item needs {req}:")
        for name, options in choices.items():
            if name in item:
                c.choice(item[name], options, item.key_line(name), f"{ikey}.{name}")
        if "text" in item:
            c.text(item["text"], item.key_line("text"), f"{ikey}.text")
        if "batch" in item and not (isinstance(item["batch"], int) and not isinstance(item["batch"], bool)
                                    and item["batch"] >= 1):
            c.add(item.key_line("batch"), f"{ikey}.batch", f"expected a batch number >= 1, got {describe(item['batch'])}")
        if vendor_ids is not None and "vendor" in item:
            if check_party(c, item["vendor"], item.key_line("vendor"), f"{ikey}.vendor", vendor_ids, "vendor"):
                if item["vendor"] in seen and "outreach" in key:
                    c.add(item.key_line("vendor"), f"{ikey}.vendor",
                          f"{item['vendor']} is already asked at line {seen[item['vendor']]}; a vendor is asked "
                          "once per request")
                seen.setdefault(item["vendor"], item.key_line("vendor"))
    return seen
