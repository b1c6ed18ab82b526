"""Remembered answers of the text helpers (fuzzy drug readings, wa.me links, masked phones) are the
answers the plain computation gives, are never shared as something a caller can change, and stay
within their bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from concierge import drugs, phones, shortlist
from concierge.drugs import DrugLexicon

_LEXICON = {
    "amoxicillin": ["Amoxil"],
    "ampicillin": [],
    "paracetamol": ["Panadol", "Acetaminophen"],
    "artemether / lumefantrine": ["Coartem"],
}

# --- fuzzy drug readings -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["amoxicilin", "Ampicilin", "panadool", "coartem", "zzzz",
                                           "amox", "Paracetamol"]), st.text(max_size=12)), max_size=6))
def test_fuzzy_readings_are_the_plain_scan(tokens: list[str]) -> None:
    lexicon = DrugLexicon(_LEXICON)
    for _ in range(2):  # the second round is served from memory
        for token in tokens:
            key = drugs.normalize(token)
            expected = (
                (lexicon._generic_by_key[key], 1.0) if key in lexicon._generic_by_key
                else None if len(key) < drugs._MIN_FUZZY_LEN else lexicon._closest(key)
            )
            assert lexicon.match(token) == expected
            if len(key) >= drugs._MIN_FUZZY_LEN:
                assert lexicon.candidates(token) == list(lexicon._nearest(key, 3))
                assert lexicon.candidates(token, limit=1) == list(lexicon._nearest(key, 1))


def test_each_lexicon_remembers_its_own_readings() -> None:
    small = DrugLexicon({"ampicillin": []})
    large = DrugLexicon(_LEXICON)
    assert small.match("amoxicilin")[0] == "ampicillin"
    assert large.match("amoxicilin")[0] == "amoxicillin"  # not the other lexicon's remembered answer
    assert small.match("amoxicilin")[0] == "ampicillin"


def test_candidates_are_a_new_list_each_time() -> None:
    lexicon = DrugLexicon(_LEXICON)
    first = lexicon.candidates("ampicilin")
    expected = list(first)
    first.clear()
    first.append(("poison", 1.0))
    assert lexicon.candidates("ampicilin") == expected


def test_the_memory_of_readings_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(drugs, "_REMEMBERED", 5)
    lexicon = DrugLexicon(_LEXICON)
    tokens = [f"amoxicil{chr(97 + i)}n" for i in range(12)]
    for token in tokens:
        lexicon.match(token)
        lexicon.candidates(token)
    assert len(lexicon._fuzzy) <= 5 and len(lexicon._near) <= 5
    for token in tokens:  # forgotten ones are worked out again, remembered ones are still right
        assert lexicon.match(token) == lexicon._closest(drugs.normalize(token))


# --- wa.me links -------------------------------------------------------------------------------------

_PHONES = ["+250788123456", "0788123456", "+250 788 123 456", "250788123456", "+1 202 555 0147",
           "12345", "", "not a number", "+250788000"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_PHONES), st.one_of(st.none(), st.text(max_size=40),
                                           st.sampled_from(["Hello, is it in stock?", "call 0788123456"])))
def test_links_are_the_plain_link(phone: str, text: str | None) -> None:
    for _ in range(2):
        assert shortlist.vendor_link(phone, text) == shortlist._link(phone, text)


def test_a_number_that_is_not_a_str_links_as_its_text() -> None:
    class Phone:
        def __str__(self) -> str:
            return "+250788123456"

    assert shortlist.vendor_link(Phone(), "hi") == "https://wa.me/250788123456?text=hi"
    assert shortlist.vendor_link(250788123456) == shortlist._link(250788123456, None)
    assert shortlist.vendor_link("+250788123456", 42) == shortlist._link("+250788123456", 42)  # type: ignore[arg-type]


# --- masked phone numbers ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["0788 123 456", "+250788123456", "12,500", "(078) 812-3456",
                                           "1234567", " ", "RWF"]), st.text(max_size=10)),
                max_size=6).map(" ".join))
def test_masked_phones_are_the_plain_masking(text: str) -> None:
    for _ in range(2):
        assert phones.mask_phones_in(text) == phones._PHONE_RE.sub(phones._mask, text)


def test_masking_keeps_its_answers_right_past_its_memory() -> None:
    texts = [f"call 0788{n:06d} now" for n in range(phones._masked_in.cache_info().maxsize + 10)]
    for text in texts:
        assert phones.mask_phones_in(text) == f"call *******{text[-7:-4]} now"
    assert phones._masked_in.cache_info().currsize <= phones._masked_in.cache_info().maxsize
