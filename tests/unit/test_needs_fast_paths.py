"""The needs readers' fast paths answer exactly as the plain rules they replace.

``clean`` maps characters through one translate table, ``categorize`` and ``find_place_in`` try at a
word only the lengths of the terms (names) that start with it, and ``categorize`` remembers its
answer for the default drug check. Each is compared here with the plain rule as it was written.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from concierge import folding, need_category, need_text, needs
from concierge.geo import _index, _key, find_place_in, gazetteer
from concierge.need_category import categorize
from concierge.need_taxonomy import taxonomy
from concierge.need_text import clean, folded_words, stem

# --- clean -----------------------------------------------------------------------------------------


def _plain_clean(text: object) -> str:
    """``clean`` as it was written, a character at a time."""
    if not isinstance(text, str):
        return ""
    if len(text) > need_text._MAX_TEXT:
        cut = text[: need_text._MAX_TEXT]
        text = cut.rsplit(None, 1)[0] if " " in cut else cut
    text = folding.plain_apostrophes(text)
    text = text.replace("\u0153", "oe").replace("\u0152", "OE")
    return "".join(
        " "
        if unicodedata.category(c) in ("So", "Sk", "Cs", "Co", "Cn", "Cf", "Cc") and c != "\n"
        else c
        for c in text
    )


_ODD = "œŒ’‘`´ʼ\n\t\r\x00\x7f^😀\u200b\ufeff\ue000\U000e0001\ud800é ½ß"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(_ODD)), max_size=60))
def test_clean_is_the_plain_rule(text: str) -> None:
    assert clean(text) == _plain_clean(text)


def test_clean_cuts_long_text_and_ignores_non_text() -> None:
    long = "paracetamol " * 400 + "😀 tail"
    assert clean(long) == _plain_clean(long)
    assert clean("x" * 5000) == _plain_clean("x" * 5000)
    assert clean(None) == "" and clean(42) == ""


def test_the_clean_table_stays_bounded_and_right_past_its_bound() -> None:
    # Garbage walking through Unicode: the table stops growing, the answers stay the plain rule's.
    text = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 2 * need_text._TABLE_MAX))
    assert clean(text[:4000]) == _plain_clean(text[:4000])
    assert clean(text[4000:]) == _plain_clean(text[4000:])
    assert len(need_text._CLEAN_TABLE) <= need_text._TABLE_MAX
    assert clean("Œuvre — d´accord 😀") == "OEuvre — d'accord  "


# --- categorize --------------------------------------------------------------------------------------


def _plain_scores(text: str, check) -> dict[str, float]:
    """``_scores`` as it was written: every length from the longest term down, at every word."""
    tax = taxonomy()
    words = folded_words(text)
    tokens = [stem(w) for w in words]
    scores = dict.fromkeys(tax.order, 0.0)
    for cat in tax.order:
        table, seen, i = tax.terms[cat], set(), 0
        while i < len(tokens):
            spans = (tuple(tokens[i : i + n]) for n in range(min(tax.longest, len(tokens) - i), 0, -1))
            hit = next((span for span in spans if span in table), None)
            if hit is None:
                i += 1
                continue
            if hit not in seen:  # each term counts once
                seen.add(hit)
                scores[cat] += table[hit]
            i += len(hit)
    scores["pharmacy"] += float(len(need_category._drug_hits(words, check, lambda: None)))
    return scores


def _unremembered(text: str, check) -> tuple[str | None, float]:
    text = clean(text)
    return need_category._categorize(text, check, lambda: None) if text.strip() else (None, 0.0)


def _terms() -> list[str]:
    tax = taxonomy()
    words = sorted({" ".join(k) for table in tax.terms.values() for k in table})
    return words + [" ".join(m) for m in sorted(tax.medicines)]


_TERMS = _terms()
_NEED_TEXT = st.lists(
    st.one_of(st.sampled_from(_TERMS), st.sampled_from(["Coartem", "Ziagen", "500mg", "and", ",", "x"]),
              st.text(max_size=8)),
    max_size=8,
).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(_NEED_TEXT)
def test_scores_are_the_plain_rule(text: str) -> None:
    text = clean(text)
    for check in (need_category.lexicon_is_drug(), None):
        assert need_category._scores(text, check, lambda: None) == _plain_scores(text, check)


@settings(max_examples=300, deadline=None)
@given(_NEED_TEXT)
def test_categorize_remembers_the_answer_with_the_default_check_only(text: str) -> None:
    default = need_category.lexicon_is_drug()
    for _ in range(2):  # the second answer comes from memory
        assert categorize(text) == _unremembered(text, default)
    assert categorize(text, lexicon=lambda: None) == _unremembered(text, None)


def test_a_remembered_category_is_never_served_for_another_drug_check(monkeypatch) -> None:
    assert categorize("Ziagen 300mg")[0] == "pharmacy"  # the default lexicon knows it (now remembered)
    assert categorize("Ziagen 300mg", lexicon=lambda: None) == (None, 0.0)
    assert categorize("Ziagen 300mg", is_drug=lambda name: False) == (None, 0.0)
    calls: list[str] = []

    def counting(name: str) -> bool:
        calls.append(name)
        return name == "ziagen"

    assert categorize("Ziagen 300mg", is_drug=counting)[0] == "pharmacy"
    assert categorize("Ziagen 300mg", is_drug=counting)[0] == "pharmacy"
    assert calls == ["ziagen", "ziagen"]  # a caller's hook is asked every time: it may not be pure
    monkeypatch.setattr(needs, "_lexicon_is_drug", lambda: None)
    assert needs.categorize("Ziagen 300mg") == (None, 0.0)


def test_a_new_default_lexicon_is_a_new_memory(monkeypatch) -> None:
    from concierge import drugs

    assert categorize("Zorbitrex")[0] is None  # remembered for today's lexicon
    monkeypatch.setattr(drugs.DrugLexicon, "default", classmethod(lambda cls: cls({"zorbitrex": []})))
    need_category.lexicon_is_drug.cache_clear()
    try:
        assert categorize("Zorbitrex")[0] == "pharmacy"
    finally:
        monkeypatch.undo()
        need_category.lexicon_is_drug.cache_clear()
    assert categorize("Zorbitrex")[0] is None


# --- places ----------------------------------------------------------------------------------------


def _plain_find_place_in(text: str):
    words = _key(text).split()
    index = _index()
    longest = max((len(k.split()) for k in index), default=1)
    for start in range(len(words)):
        for size in range(min(longest, len(words) - start), 0, -1):
            place = index.get(" ".join(words[start : start + size]))
            if place is not None:
                return place
    return None


_NAMES = sorted({n for p in gazetteer() for n in (p.name, *p.aliases)})


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_NAMES), st.sampled_from(["near", "the", "market", "-"]),
                          st.text(max_size=6)), max_size=7).map(" ".join))
def test_find_place_in_is_the_plain_rule(text: str) -> None:
    assert find_place_in(text) == _plain_find_place_in(text)
