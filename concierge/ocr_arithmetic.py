"""Receipt arithmetic: the printed amounts check each other.

A receipt's amounts are related: subtotal + tax (+ service) - discount +/- rounding = total, cash
tendered - change = total, and the item amounts add up to the subtotal. A total that these
relations confirm is kept; a keyword total they contradict is replaced only when two relations that
share no printed line agree on one value (one relation alone could itself rest on a misread amount).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from concierge.ocr_amounts import amounts_in, cents_of, money_value, parse_amount
from concierge.ocr_dates import parse_date
from concierge.ocr_fields import Field, clamp_confidence, line_text, mean_confidence
from concierge.ocr_totals import TOTAL_WORD

# Checked in this order: "Total Incl. GST" names a tax but is a total; "Total Excl. GST" a subtotal.
_ROLES = (
    ("change", re.compile(r"\b(?:change|kembalian|baki|monnaie|rendu)\b")),
    ("tendered", re.compile(r"\b(?:cash|tendered|paid|payment|tunai|esp[eè]ces|momo|card|visa)\b")),
    ("rounding", re.compile(r"\brounding\b|\bround(?:ing)?\s*adj")),
    ("discount", re.compile(r"\b(?:discount|disc|savings?|less|remise|diskaun)\b")),
    ("service", re.compile(r"\b(?:service|svc)\b")),
    ("subtotal", re.compile(r"\bsub\W?total|\bsous\W?total|\bexcl|\bjumlah kecil|\bbefore tax")),
    ("total", re.compile(r"\bincl")),
    ("tax", re.compile(r"\b(?:tax|gst|vat|tva|sst)\b")),
)
# A tax word on a header line is a registration, not an amount of tax.
_TAX_HEADER = re.compile(r"\b(?:reg|id|tin|no|number|invoice|facture)\b|#")
# Lines above the items that end in a number which is no price.
_HEADER_WORDS = re.compile(r"\b(?:tel|phone|fax|tin|reg|no|box|id|invoice|bill|receipt|cashier|date|time|"
                           r"table|gst|vat|tax|itariki|tarikh|counter|pos|member|order|p\.?o)\b|#")
MAX_PER_ROLE = 4
_INCLUSIVE = re.compile(r"\b(?:incl|inclusive|included|inclus|ttc|termasuk)\b")


@dataclass(frozen=True)
class Relation:
    """One way the other printed amounts give the total: its value in cents and the lines it used."""
    name: str
    cents: int
    lines: frozenset[int]


def _role_of(low: str) -> str | None:
    for role, pattern in _ROLES:
        if pattern.search(low):
            if role == "tax" and _TAX_HEADER.search(low):
                return None
            return role
    return None


def _role_amount(low: str) -> int | None:
    # "GST 6% 6.20": the rate is no amount; what follows the last "%" is.
    tail = low.rsplit("%", 1)[-1]
    amounts = amounts_in(tail)
    return cents_of(amounts[-1]) if amounts else None


def receipt_amounts(lines: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Amounts by role, each as (cents, line index): subtotal, tax, service, discount, rounding,
    tendered, change, total and item (an item row above the first summary line)."""
    roles: dict[str, list[tuple[int, int]]] = {}
    summary_started = False
    for n, text in enumerate(lines):
        low = text.lower()
        role = _role_of(low)
        if role is None and TOTAL_WORD.search(low):
            role = "total"
        # Payment, service and discount words above the totals name items ("Airtime card 1,000").
        if role in ("change", "tendered", "discount", "service") and not summary_started:
            role = None
        if role is not None:
            summary_started = True
            cents = _role_amount(low)
            if cents is not None and role != "total":
                roles.setdefault(role, []).append((cents, n))
            continue
        if summary_started or _HEADER_WORDS.search(low) or parse_date(text):
            continue
        # An item row has a name ("Sugar 1kg 3.00") or a quantity line ("2 x 1.50 3.00").
        if not (re.search(r"[a-z]{2}", low) or re.search(r"\d\s*[x×@*]\s*\d", low)):
            continue
        words = text.split()
        amount = parse_amount(words[-1]) if len(words) >= 2 else None
        if amount is not None and amount > 0:
            roles.setdefault("item", []).append((cents_of(amount), n))
    return roles


def receipt_relations(lines: list[str]) -> list[Relation]:
    """Every value the printed amounts give for the total, each with the relation and lines used."""
    # A real receipt prints each of these a few times at most; the cap keeps garbage pages cheap.
    found = receipt_amounts(lines)
    items = found.pop("item", [])
    roles = {role: amounts[:MAX_PER_ROLE] for role, amounts in found.items()}
    out: list[Relation] = []
    bases = [("subtotal", c, frozenset({n})) for c, n in roles.get("subtotal", [])]
    if items:
        bases.append(("items", sum(c for c, _ in items), frozenset(n for _, n in items)))
    extra, extra_lines, extra_name = 0, set(), ""
    for role, sign, label in (("service", 1, " + service"), ("discount", -1, " - discount")):
        for c, n in roles.get(role, []):
            extra += sign * c
            extra_lines.add(n)
        if roles.get(role):
            extra_name += label
    taxes: list[tuple[str, int, set[int]]] = [(" + tax", c, {n}) for c, n in roles.get("tax", [])]
    # Tax-inclusive prices: the tax is printed for information and adds nothing.
    if not taxes or any(_INCLUSIVE.search(t.lower()) for t in lines):
        taxes.append(("", 0, set()))
    roundings = [(" + rounding", c, {n}) for c, n in roles.get("rounding", [])]
    # OCR often drops the minus of "-0.02": the rounding counts either way.
    roundings += [(" - rounding", -c, {n}) for c, n in roles.get("rounding", []) if c]
    roundings = roundings or [("", 0, set())]
    for base_name, base, base_lines in bases:
        for tax_name, tax, tax_lines in taxes:
            for r_name, r, r_lines in roundings:
                value = base + tax + extra + r
                if value > 0:
                    used = frozenset(base_lines | tax_lines | extra_lines | r_lines)
                    out.append(Relation(base_name + tax_name + extra_name + r_name, value, used))
    changes = roles.get("change", []) or [(0, -1)]
    for paid, n in roles.get("tendered", []):
        for change, m in changes:
            if paid - change > 0:
                name = "tendered - change" if m >= 0 else "tendered"
                out.append(Relation(name, paid - change, frozenset({n, m} - {-1})))
    return out


def _supporting(relations: list[Relation], cents: int, own_line: int) -> list[Relation]:
    # A relation built on the candidate's own line would only confirm the candidate with itself.
    return [r for r in relations if r.cents == cents and own_line not in r.lines]


def _describe(rs: list[Relation]) -> str:
    return " = ".join(dict.fromkeys(r.name for r in rs))


def cross_check(lines, candidates, pick) -> Field | None:
    """The total the receipt's arithmetic supports, or None to keep the keyword pick unchanged.

    ``lines`` are OCR word lines, ``candidates`` and ``pick`` come from the keyword ranking. A pick
    that a relation confirms stays (provenance says by what); else a total-line candidate that a
    relation confirms is taken; else a value on which two relations sharing no line agree, when it is
    the only such value. Silent or disagreeing relations return None.
    """
    texts = [line_text(ws) for ws in lines]
    relations = receipt_relations(texts)
    if not relations:
        return None
    if pick is not None:
        rank, amount, n, words = pick
        support = _supporting(relations, cents_of(amount), n)
        if support:
            return Field(money_value(cents_of(amount)), clamp_confidence(mean_confidence(words)),
                         f"ocr:line {n + 1} (total, rank {rank}; confirmed by {_describe(support)})")
    confirmed = [c for c in candidates if c[0] >= 1 and _supporting(relations, cents_of(c[1]), c[2])]
    if confirmed:
        rank, amount, n, words = max(confirmed, key=lambda c: (c[0], c[1], c[2]))
        support = _supporting(relations, cents_of(amount), n)
        return Field(money_value(cents_of(amount)), clamp_confidence(mean_confidence(words)),
                     f"ocr:line {n + 1} (total, rank {rank}; confirmed by {_describe(support)}; "
                     f"keyword pick unconfirmed)")
    by_value: dict[int, list[Relation]] = {}
    for r in relations:
        by_value.setdefault(r.cents, []).append(r)
    agreed: dict[int, tuple[Relation, Relation]] = {}
    for cents, rs in by_value.items():
        pair = next(((a, b) for i, a in enumerate(rs) for b in rs[i + 1:] if not a.lines & b.lines), None)
        if pair:
            agreed[cents] = pair
    if len(agreed) != 1:
        return None
    cents, (a, b) = next(iter(agreed.items()))
    used = sorted(a.lines | b.lines)
    conf = mean_confidence([w for n in used for w in lines[n]])
    was = f"; keyword total {pick[1]:g} unconfirmed" if pick is not None else ""
    return Field(money_value(cents), clamp_confidence(conf),
                 f"arithmetic: {a.name} = {b.name} (lines {', '.join(str(n + 1) for n in used)}){was}")


def after_adjustment(lines, cents: int, line: int) -> tuple[int, int, str] | None:
    """The amount to pay when the pick is an amount before an adjustment printed below it: a rounding
    r (under one unit; pick + r or pick - r) or a discount d (pick - d), when that amount is printed
    below the adjustment. (cents, line, which adjustment) of the adjusted amount, or None."""
    texts = [line_text(ws) for ws in lines]
    found_roles = receipt_amounts(texts)
    adjustments = [(c, n, "rounded", (1, -1)) for c, n in found_roles.get("rounding", []) if 0 < c < 100 and n > line]
    # A discount is taken off: "Total Amount 265.00 / Discount 10.00 / Net Total 255.00".
    adjustments += [(c, n, "after discount", (-1,)) for c, n in found_roles.get("discount", [])
                    if 0 < c < cents and n > line]
    for r, at, kind, signs in adjustments:
        found = {}
        for n in range(at, len(texts)):
            for amount in amounts_in(texts[n].lower()):
                value = cents_of(amount)
                if value in {cents + s * r for s in signs} and value not in found:
                    found[value] = n
        if len(found) == 1:
            return (*next(iter(found.items())), kind)
    return None


def is_confirmed(total: Field | None) -> bool:
    """The receipt's own arithmetic supports this total (provenance says how)."""
    return total is not None and ("confirmed by" in total.provenance or "arithmetic:" in total.provenance)


# How far an unconfirmed total may lie from the amount paid and still be that amount misread (or
# the amount before a cash rounding): under one unit, as for a rounding adjustment.
PAID_MAX_GAP_CENTS = 100


def paid_instead(lines, total: Field) -> Field | None:
    """The amount paid (cash tendered - change) instead of an unconfirmed total that lies within
    one unit of it: the total line misread by a digit ("112.46" for 112.45) or printed before the
    cash rounding. Only when the receipt prints a change line, the payments give one value and no
    other relation near it disagrees; a total the arithmetic confirmed is never replaced. None to
    keep ``total``."""
    if is_confirmed(total):
        return None
    texts = [line_text(ws) for ws in lines]
    paid = {r.cents: r for r in receipt_relations(texts) if r.name == "tendered - change"}
    if len(paid) != 1:
        return None
    cents, relation = next(iter(paid.items()))
    # Another relation near the total that disagrees with the payment: one of them rests on a misread.
    if any(r.name != "tendered - change" and 0 < abs(r.cents - cents) < PAID_MAX_GAP_CENTS
           for r in receipt_relations(texts)):
        return None
    gap = abs(cents - cents_of(float(total.value)))
    if not 0 < gap < PAID_MAX_GAP_CENTS:
        return None
    used = sorted(relation.lines)
    return Field(money_value(cents), clamp_confidence(mean_confidence([w for n in used for w in lines[n]])),
                 f"arithmetic: tendered - change (lines {', '.join(str(n + 1) for n in used)}); "
                 f"total read {total.value:g} is within one unit of it ({total.provenance})")
