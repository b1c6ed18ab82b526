"""Injection detection and redaction for every text the concierge reads (client, vendor, OCR).

All message text is data, never instructions (docs/domain.md "Safety and privacy"). This module only
*notices* attempts to steer the concierge; callers decide what to audit and refuse.
Patterns run on a folded copy of the text (``folding.fold_unaligned``: lower case, no accents, no
zero-width characters) so
"IGNORE", "Ignorez", "ignore\u200b" and "arrêter" all meet the same rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import phonenumbers

from concierge.folding import HIDDEN, fold_unaligned
from concierge.phones import InvalidPhone, mask_phone, mask_phones_in, normalize_phone

INJECTION_KINDS = (
    "instruction_override",
    "role_override",
    "system_tag",
    "prompt_reveal",
    "mass_outreach",
    "payment_request",
    "foreign_phone",
)
SOURCES = ("client", "vendor", "ocr")

_EVIDENCE_RADIUS = 30
_MAX_EVIDENCE = 8


@dataclass(frozen=True)
class InjectionFinding:
    kinds: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.kinds)




_F = TypeVar("_F", bound=Callable[..., object])


def _remembered(fn: _F) -> _F:
    """Remember the answers of a pure function of a text (and hashable options) for the last
    2,048 texts seen (messages of a few hundred characters: a few MB): the same texts are read
    again and again (each brain call redacts the last 20 messages of its conversation; a message
    is checked as the client's text, then clause by clause as a need). Answers are immutable (str, bool, tuples, a frozen finding), so
    a shared one cannot be changed by a caller; anything but a ``str`` text is not remembered."""
    cached = functools.lru_cache(maxsize=2048)(fn)

    @functools.wraps(fn)
    def wrapper(text, *args, **kwargs):  # type: ignore[no-untyped-def]
        if type(text) is str:
            return cached(text, *args, **kwargs)
        return fn(text, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.MULTILINE) for p in patterns)


_W = r"(?:[\w'-]+\s+)"  # one filler word ("all", "the", "of", "your" ...)

_RULES: dict[str, tuple[re.Pattern[str], ...]] = {
    "instruction_override": _rx(
        # "my last message" is a client correcting itself, so messages are not a target here.
        r"\b(?:ignore|disregard|forget|skip|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+"
        r"|these\s+|those\s+|previous\s+|prior\s+|earlier\s+|preceding\s+|above\s+|system\s+"
        r"|original\s+|existing\s+|current\s+|safety\s+)*(?:instructions?|rules|prompts?|directions"
        r"|guidelines|constraints|polic(?:y|ies)|limits|caps|programming|above)\b",
        r"\b(?:new|updated|real|actual)\s+instructions?\s*:",
        r"\bdo\s+not\s+follow\s+(?:your|the|any)\s+(?:\w+\s+)?(?:rules|instructions|guidelines)",
        r"\b(?:ignore[rsz]?|oublie[rsz]?|ne\s+tiens\s+pas\s+compte\s+d\w*|ne\s+tenez\s+pas\s+compte\s+d\w*"
        r"|fais\s+abstraction\s+d\w*)\s+(?:toutes\s+|tous\s+|les\s+|tes\s+|vos\s+|ces\s+|des\s+|de\s+)*"
        r"(?:instructions|consignes|regles|directives|limites|ce\s+qui\s+precede)",
        r"\bnouvelles\s+(?:instructions|consignes)\s*:",
        r"\b(?:\w*rengagiz\w*|\w*bagirw\w*|ntukurikize|ntimukurikize|reka)\s+" + _W + r"{0,2}"
        r"amabwiriza\b",
        r"\bamabwiriza\s+mashya\s*:",
    ),
    "role_override": _rx(
        r"\byou(?:'re|\s+are)\s+now\s+(?:a\s+|an\s+|the\s+|my\s+|our\s+)?(?:\w+\s+)?(?:admin\w*|system"
        r"|root|developer|dan|assistant|agent|bot|ai|operator|owner|manager|employee|servant|slave"
        r"|unrestricted|jailbroken|helper|model)\b",
        r"\byou(?:'re|\s+are)\s+now\s+(?:no\s+longer|free\s+of|free\s+from)\b",
        r"\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|act|work|answer|obey)\b",
        r"\b(?:act|behave|respond|operate|speak)\s+(?:as|like)\s+(?:the\s+|a\s+|an\s+|my\s+)?"
        r"(?:system|admin\w*|developer|root|operator|supervisor|moderator|unrestricted|jailbroken|dan)\b",
        r"\bpretend\s+(?:to\s+be|you\s+are|you're)\b",
        r"\b(?:developer|god|admin|dan|jailbreak)\s+mode\b",
        r"\bi\s+am\s+(?:the|your)\s+(?:admin\w*|developer|system|creator|operator)\b",
        r"\byour\s+new\s+role\b",
        r"\b(?:tu\s+es|vous\s+etes)\s+(?:maintenant|desormais|a\s+present)\b",
        r"\b(?:agis|agissez|comporte-toi|comportez-vous|fais|faites)\s+(?:comme|en\s+tant\s+que)\s+"
        r"(?:le\s+|l'|un\s+|une\s+)?(?:systeme|admin\w*|developpeur|operateur)",
        r"\bfai(?:s|tes)\s+semblant\s+d'etre\b",
        r"\bje\s+suis\s+(?:ton|votre|l')\s*(?:admin\w*|developpeur|createur|operateur)\b",
        r"\bmode\s+(?:developpeur|admin\w*|dieu)\b",
        r"\bubu\s+(?:uri|muri|ubaye|wabaye|mubaye)\s+(?:umuyobozi|admin\w*|sisitemu|system)",
        r"\b(?:kora|korera|mukore|wikore|itware|twara|witware)\s+nk(?:a\s+|'\s*|\s+)"
        r"(?:umuyobozi|admin\w*|sisitemu|system)",
        r"\bndi\s+(?:umuyobozi\s+wawe|admin\w*|nyir'?\s*sisitemu)",
    ),
    "system_tag": _rx(
        r"<\s*/?\s*(?:system|sys|assistant|developer|instructions?)\s*>",
        r"\[\s*/?\s*(?:inst|system|sys)\s*\]",
        r"<<\s*/?\s*sys\s*>>",
        r"<\|\s*(?:im_start|im_end|system|assistant|user|endoftext)\s*\|>",
        r"^\s*#{2,}\s*(?:system|instructions?|assistant|admin|systeme|sisitemu)\b",
        r"^\s*(?:system|assistant|developer|systeme|sisitemu)\s*(?:prompt\s*)?:",
        r"\bsystem\s+prompt\s*:",
    ),
    "prompt_reveal": _rx(
        r"\b(?:reveal|print|show|display|repeat|output|tell|give|send|share|leak|dump|paste|recite)"
        r"\s+(?:me\s+|us\s+)?(?:all\s+)?(?:of\s+)?(?:your|ur)\s+(?:\w+\s+){0,2}?(?:prompt|instructions"
        r"|system\s+message|rules|guidelines|configuration|config)\b",
        r"\b(?:reveal|print|show|display|repeat|output|leak|dump|paste|recite)\s+(?:me\s+|us\s+)?"
        r"the\s+(?:\w+\s+){0,2}?(?:prompt|system\s+message)\b",
        r"\bwhat\s+(?:is|are|was|were)\s+(?:your|ur)\s+(?:\w+\s+)?(?:prompt|instructions)\b",
        r"\b(?:montre|montrez|affiche|affichez|revele|revelez|donne|donnez|repete|repetez|ecris"
        r"|ecrivez|dis|dites|envoie|envoyez)(?:-moi|-nous)?\s+(?:moi\s+)?(?:ton|ta|tes|votre|vos|le|les)"
        r"\s+(?:\w+\s+){0,2}?(?:prompt|instructions|consignes|message\s+systeme)\b",
        r"\b(?:nyereka|twereke|mwereke|mpa|uduhe|tubwire|mbwira|garagaza|erekana|andika|ohereza)\s+"
        r"(?:\w+\s+){0,2}?(?:amabwiriza|prompt)\s+(?:yawe|wahawe|y'ibanga|ya\s+sisitemu)",
        r"\bprompt\s+(?:yawe|ya\s+sisitemu)\b",
    ),
    "mass_outreach": _rx(
        r"\b(?:message|text|contact|ping|whatsapp|sms|notify|email|call|ask|tell|spam|blast"
        r"|reach\s+out\s+to|send\s+(?:this\s+|it\s+|that\s+|messages?\s+|a\s+message\s+)?to"
        r"|forward\s+(?:this\s+|it\s+)?to|broadcast\s+(?:this\s+|it\s+)?to)\s+"
        r"(?:all|every|each|everyone\s+in|as\s+many|hundreds\s+of|thousands\s+of|\d{2,})\s+"
        r"(?:of\s+)?(?:the\s+|your\s+)?(?:single\s+)?(?:other\s+)?(?:\w+\s+)?"
        r"(?:vendors?|shops?|sellers?|pharmac(?:y|ies)|merchants?|stores?|suppliers?|contacts?"
        r"|numbers|users|clients|customers)\b",
        r"\b(?:all|every)\s+(?:the\s+)?vendors?\s+(?:in|on|from)\s+(?:the\s+|your\s+)?"
        r"(?:directory|database|list|system)",
        r"\b(?:no|without|ignore\s+the|remove\s+the|lift\s+the|disable\s+the)\s+(?:vendor\s+|outreach\s+)?"
        r"(?:limits?|caps?)\b",
        r"\bmore\s+than\s+\d+\s+vendors\b",
        r"\b(?:contacte[rz]?|ecri(?:re|s|t|vez)|envoie[rz]?|envoye[rz]|previens|prevenez|appelle[rz]?"
        r"|transfere[rz]?|diffuse[rz]?)\s+(?:ce\s+message\s+|le\s+message\s+|ceci\s+|ca\s+)?"
        r"(?:a\s+|aux\s+)?(?:tous\s+les|toutes\s+les|chaque|\d{2,})\s+(?:\w+\s+)?"
        r"(?:vendeu\w*|fournisseu\w*|commer\w*|marchand\w*|pharmacies|boutiques|magasins|clients"
        r"|contacts)",
        r"\b(?:abacuruzi|abacuruza|amaduka|abakiriya|farumasi)\s+(?:\w+\s+)?(?:bose|yose|zose|\d{2,})\b",
    ),
    "payment_request": _rx(
        r"\bmomo\b",
        r"\bmobile\s+money\b",
        r"\b(?:mtn|airtel)\s+money\b",
        r"\bdeposit\b",
        r"\bdown\s*payment\b",
        r"\bpay\s+(?:me\s+|us\s+)?(?:first|before|upfront|up\s+front|in\s+advance|ahead|half|now)\b",
        r"\b(?:advance|upfront|up-front)\s+payment\b",
        r"\bprepay\w*",
        r"\bsend\s+(?:me\s+|us\s+|him\s+|her\s+)?(?:the\s+)?(?:money|cash|payment|funds)\b",
        r"\bsend\s+(?:me\s+|us\s+)?\d[\d,. ]*\s*(?:k|rwf|frw)?\s+to\b",
        r"\btransfer\s+(?:the\s+)?(?:money|funds|payment|cash|\d)",
        r"\bpay\s+(?:to|via|through|using|on|with)\s+(?:this\s+|my\s+|our\s+|the\s+)?"
        r"(?:number|account|code|till|phone)\b",
        r"\b(?:payment|merchant|till)\s+(?:code|number|account)\b",
        r"\baccount\s+(?:number|no\.?)\b",
        r"\bwestern\s+union\b",
        r"\*\s*\d{3}\s*\*[\d*#\s]*",
        r"\bpaiement\s+(?:d'avance|anticipe|a\s+l'avance|en\s+avance)\b",
        r"\bacompte\b",
        r"\bpaye[rz]?\s+(?:d'avance|a\s+l'avance|en\s+avance|d'abord|avant|maintenant)\b",
        r"\benvoye[rz]?\s+(?:moi\s+|nous\s+|-moi\s+|-nous\s+)?(?:l'argent|de\s+l'argent|les\s+fonds"
        r"|le\s+paiement|\d)",
        r"\bdepot\s+(?:de|d')",
        r"\bversement\b",
        r"\btransfert\s+d'argent\b",
        r"\b\w*oh?erez\w*\s+(?:\w+\s+){0,2}amafaranga\b",
        r"\bbanza\s+(?:w|mu|u)?(?:ishyur|kwishyur)\w*",
        r"\b\w*ishyur\w*\s+mbere\b",
        r"\bkubitsa\b",
        r"\bava(?:n|m)s[ie]\b",
    ),
}

# "No deposit needed" and "pas d'acompte" tell the client there is nothing to pay first.
_PAYMENT_NEGATED = re.compile(
    r"\b(?:no|without|never|don'?t\s+need\s+to|no\s+need\s+to|not\s+required\s+to|sans|pas\s+d'"
    r"|pas\s+de|pas\s+besoin\s+de|nta|ntugomba|ntabwo\s+ugomba)\s+(?:any\s+|un\s+|d'|de\s+)?"
    r"(?:deposit|prepayment|advance\s+payment|pay\s+(?:first|upfront|in\s+advance)|acompte|payer\s+d'avance"
    r"|avansi|avanse|kwishyura\s+mbere)\b"
)


def _without_negated_payment(folded: str) -> str:
    return _PAYMENT_NEGATED.sub(lambda m: " " * len(m.group(0)), folded)

# Any run of digits with light separators that may be a phone number; normalize_phone decides.
_PHONE_CANDIDATE = re.compile(r"(?<!\d)(?:(?:\+|00)\s?)?\d(?:[ \-.()/]{0,2}\d){7,15}(?!\d)")


def _phone_of(candidate: str) -> str | None:
    digits = re.sub(r"\D", "", candidate)
    if len(digits) < 9:
        return None
    raw = candidate.strip()
    if raw.startswith("00"):
        raw = "+" + digits[2:]
    elif not raw.startswith("+") and len(digits) > 10 and not digits.startswith("250"):
        raw = "+" + digits  # a bare international number without '+'
    try:
        phone = normalize_phone(raw)
    except InvalidPhone:
        return None
    # A possible length is not enough: tax ids and receipt numbers have phone-like lengths too.
    return phone if phonenumbers.is_valid_number(phonenumbers.parse(phone)) else None


def phone_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, E.164) of every phone number written in ``text``, in order."""
    spans = []
    for m in _PHONE_CANDIDATE.finditer(text):
        phone = _phone_of(m.group(0))
        if phone is not None:
            spans.append((m.start(), m.end(), phone))
    return tuple(spans)


@_remembered
def phones_in(text: str) -> tuple[str, ...]:
    """Every distinct phone number written in free text, in E.164, in order of appearance."""
    found: list[str] = []
    for _, _, phone in phone_spans(HIDDEN.sub("", str(text))):
        if phone not in found:
            found.append(phone)
    return tuple(found)


def _snippet(folded: str, start: int, end: int) -> str:
    lo, hi = max(0, start - _EVIDENCE_RADIUS), min(len(folded), end + _EVIDENCE_RADIUS)
    return redact(" ".join(folded[lo:hi].split()))


@_remembered
def detect_injection(
    text: str, *, source: str, sender_phone: str | None = None
) -> InjectionFinding:
    """Which injection kinds the text carries, with masked evidence.

    ``source`` is "client", "vendor" or "ocr"; anything else is a programming error and raises
    ValueError. ``sender_phone`` is the number the message came from: that number written in the
    text is not foreign (a vendor giving its own number is fine), any other number is.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    text = "" if text is None else str(text)
    findings = _rule_findings(text)
    kinds = [kind for kind, _ in findings]
    evidence = [snippet for _, snippet in findings]
    own = _own_phone(sender_phone)
    foreign = [p for p in phones_in(text) if p != own]
    if foreign:
        kinds.append("foreign_phone")
        evidence.extend(mask_phone(p) for p in foreign)
    return InjectionFinding(tuple(kinds), tuple(evidence[:_MAX_EVIDENCE]))


# Each kind's rules as one alternation: it matches somewhere exactly when one of them does, so a
# text that meets none of a kind's rules (nearly every text) is read once per kind, not once per rule.
_ANY_RULE: dict[str, re.Pattern[str]] = {
    kind: re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.MULTILINE)
    for kind, patterns in _RULES.items()
}


@_remembered
def _rule_findings(text: str) -> tuple[tuple[str, str], ...]:
    """(kind, masked evidence) of each rule kind the text meets, in ``_RULES`` order: the part of
    ``detect_injection`` that depends on the text alone. A text is checked under several sources
    and senders (the client's message, then its clauses as a need; a vendor's reply), and the
    payment rules are ``contains_payment_instruction`` too: each text's rules are run once."""
    folded = fold_unaligned(text)
    findings: list[tuple[str, str]] = []
    for kind, patterns in _RULES.items():
        haystack = _without_negated_payment(folded) if kind == "payment_request" else folded
        if not _ANY_RULE[kind].search(haystack):
            continue
        # The evidence is the first rule's (in order) match, not the alternation's leftmost one.
        for pattern in patterns:
            m = pattern.search(haystack)
            if m:
                findings.append((kind, _snippet(folded, m.start(), m.end())))
                break
    return tuple(findings)


def _own_phone(sender_phone: str | None) -> str | None:
    if not sender_phone:
        return None
    try:
        return normalize_phone(sender_phone)
    except InvalidPhone:
        return None


@_remembered
def contains_payment_instruction(text: str) -> bool:
    """MoMo / mobile money / deposit / pay first / send money / USSD codes, in en, fr and rw."""
    # The payment rules of the injection check, on the same fold of the same text.
    return any(kind == "payment_request" for kind, _ in _rule_findings("" if text is None else str(text)))


_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[redacted]"),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), "[redacted]"),
    (re.compile(r"\bEAA[A-Za-z0-9]{16,}"), "[redacted]"),  # Meta Graph API access tokens
    (re.compile(r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{16,}"), "[redacted]"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "[redacted]"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "[redacted]"),
    (
        re.compile(
            r"(?i)\b((?:app|client)[_ -]?secret|api[_ -]?key|access[_ -]?token|auth[_ -]?token"
            r"|verify[_ -]?token|secret|password|passwd|token)(\"?\s*[:=]\s*[\"']?)[^\s\"',;}]+"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"(?i)\b[a-f0-9]{32,}\b"), "[redacted]"),  # app secrets are 32 hex characters
)
_LONG_DIGITS = re.compile(r"\d{9,}")
# What each of ``_SECRETS`` cannot match without, when it is plain text of its own (None: a pattern
# that ignores case, whose letters may match other characters): a text without it is left as it is.
_SECRET_NEEDLES = (None, "eyJ", "sk-", "EAA", "_", "xox", "AKIA", None, None)
# The same for the patterns that ignore case, in a text that is all ASCII (their replacements keep
# it so): there case is all that ignoring it changes, so every match holds one of these words in
# lower case. Outside ASCII other letters fold to theirs (the Kelvin sign to "k", the long s to
# "s"), and the pattern runs whatever the text.
_CASELESS_WORDS = (("bearer",), None, None, None, None, None, None, ("secret", "api", "token", "passw"), None)
# In an ASCII text the last pattern (hex ignoring case) is this one, which the engine reads faster.
_ASCII_FORMS = (None,) * 8 + (re.compile(r"\b[a-fA-F0-9]{32,}\b"),)
# Every phone pass below changes a text only where a run holds 8 digits or more (any script's, as
# theirs): ``mask_phones_in`` needs 8, a phone candidate 9, a long number 9.
_EIGHT_DIGITS = re.compile(r"\d(?:\D*\d){7}")


@_remembered
def redact(text: str) -> str:
    """Text safe for the brain's context pack and for logs: secrets and phone numbers masked."""
    text = "" if text is None else str(text)
    ascii_text = text.isascii()
    for (pattern, replacement), needle, words, ascii_form in zip(
        _SECRETS, _SECRET_NEEDLES, _CASELESS_WORDS, _ASCII_FORMS, strict=True
    ):
        if needle is not None and needle not in text:
            continue
        if ascii_text:
            if words is not None and not any(w in text.lower() for w in words):
                continue
            pattern = ascii_form or pattern
        text = pattern.sub(replacement, text)
    if not _EIGHT_DIGITS.search(text):
        return text
    text = mask_phones_in(text)
    text = _PHONE_CANDIDATE.sub(_mask_candidate, text)
    # Whatever still looks like a long number (ids, numbers glued to words) loses all but 3 digits.
    return _LONG_DIGITS.sub(lambda m: mask_phone(m.group(0)), text)


def _mask_candidate(m: re.Match[str]) -> str:
    return mask_phone(m.group(0)) if _phone_of(m.group(0)) else m.group(0)


# --- what may become the need that vendors read --------------------------------------------------

_TAGGED_SPANS = re.compile(
    r"<\|im_start\|>.*?(?:<\|im_end\|>|$)|<\s*/?\s*(?:system|assistant|user)\s*>.*?(?:<\s*/\s*(?:system|assistant|user)\s*>|$)"
    r"|\[/?INST\].*?(?:\[/INST\]|$)|#{2,}\s*(?:system|instructions?)\b.*$",
    re.IGNORECASE | re.DOTALL | re.MULTILINE,
)
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?;,\n])\s*|\s+(?:and then|then|also|et|puis|kandi)\s+", re.IGNORECASE)


def sanitize_need(text: str) -> str:
    """The parts of a client's (or an OCR'd) text that may become the need vendors read.

    Text is data: a clause that carries an instruction to the concierge, a payment instruction or
    a phone number is dropped whole (not masked), because masking would still forward its intent to
    vendors and, through the shortlist's header, back to the client. What remains is the need.
    """
    if not isinstance(text, str) or not text:
        return ""
    text = _TAGGED_SPANS.sub(" ", text)
    kept = []
    for clause in _CLAUSE_SPLIT.split(text):
        clause = (clause or "").strip()
        if not clause:
            continue
        if contains_payment_instruction(clause) or phones_in(clause):
            continue
        if detect_injection(clause, source="client").flagged:
            continue
        kept.append(clause)
    need = " ".join(kept).strip()
    # Clauses harmless alone can spell an instruction together: then nothing is safe to forward.
    if need and (contains_payment_instruction(need) or detect_injection(need, source="client").flagged):
        return ""
    return need
