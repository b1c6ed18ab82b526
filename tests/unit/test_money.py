"""``concierge.money`` reads written amounts for the budget and price readers: it must agree with
the two readings it replaced (frozen here) on every number those readers' patterns find, and read
a grouped amount back to its value in every way people group thousands. Its receipt reader,
``printed_amount``, must agree with the OCR reading it replaced (frozen here too) on every text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concierge import need_budget, reply_prices
from concierge.money import MULTIPLIERS, francs, printed_amount, written_number
from concierge.need_budget import budget_in
from concierge.needs import extract_requirements
from concierge.replies import parse_vendor_reply
from concierge.reply_prices import read_prices


# --- frozen copies of the two readings as they were before they moved into money.py ------------
def _old_budget_amount(num: str, mult: str | None) -> int:
    if re.fullmatch(r"\d{1,3}(?:[ ,.]\d{3})+", num):
        value = float(re.sub(r"[ ,.]", "", num))
    else:
        value = float(num.replace(",", "."))
    factor = {"k": 1_000, "thousand": 1_000, "mille": 1_000, "m": 1_000_000}.get(mult or "", 1)
    factor = 1_000_000 if mult in ("million", "millions") else factor
    return int(round(value * factor))


def _old_price_number(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:([,.' ])\d{3})(?:\1\d{3})*", raw):
        return float(re.sub(r"\D", "", raw))
    return float(raw.replace(",", "."))


def _old_price_multiplier(after: str | None, before: str | None) -> int:
    if after is not None:
        return 1_000_000 if after in ("million", "millions", "mln", "miliyoni") else 1000
    return 1_000_000 if before == "miliyoni" else 1000


def _old_parse_amount(text: str) -> float | None:  # concierge/ocr_amounts.py before it used money.py
    t = (text or "").strip().replace(" ", "")
    t = re.sub(r"^(?i:rwf|frw|rm|usd|ksh|rs|\$|€|£)[.:]?", "", t)
    t = re.sub(r"(?i:rwf|frw)$", "", t)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?", t):
        return float(t.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", t) and t.count(".") >= 2:
        return float(t.replace(".", ""))
    if re.fullmatch(r"\d+\.\d{1,2}", t) or re.fullmatch(r"\d+", t):
        return float(t)
    if re.fullmatch(r"\.\d{2}", t):
        return float("0" + t)
    if re.fullmatch(r"\d+,\d{2}", t):
        return float(t.replace(",", "."))
    return None


# Numbers as chat writes them: digits, thousands groups with any separator (mixed ones too, as a
# careless writer does), one decimal comma or point with any number of digits.
_SEP = st.sampled_from([",", ".", " ", "'"])
_GROUPED = st.builds(
    lambda head, groups: str(head) + "".join(sep + f"{g:03d}" for sep, g in groups),
    st.integers(1, 999),
    st.lists(st.tuples(_SEP, st.integers(0, 999)), min_size=1, max_size=3),
)
_DECIMAL = st.builds(
    lambda whole, sep, frac: f"{whole}{sep}{frac}",
    st.integers(0, 10**10), st.sampled_from([",", "."]), st.from_regex(r"\A\d{1,5}\Z"),
)
_WRITTEN = _GROUPED | _DECIMAL | st.integers(0, 10**12).map(str)


def _found_whole(pattern: re.Pattern[str], number: str) -> bool:
    m = pattern.search(number)
    return m is not None and m.group(0) == number


_BUDGET_NUMBER = re.compile(need_budget._NUMBER)


@given(_WRITTEN, st.sampled_from([None, "k", "m", "million", "millions", "mille", "thousand"]))
def test_budget_amounts_read_as_before(number: str, mult: str | None) -> None:
    if not _BUDGET_NUMBER.fullmatch(number):
        return  # the budget reader never finds this number whole: its pattern stops earlier
    if "'" in number:
        # The old budget pattern stopped at an apostrophe, so "budget 12'500 rwf" was a budget of 500
        # (a bug); an apostrophe now groups thousands in a budget as a comma does.
        assert francs(number, mult) == _old_budget_amount(number.replace("'", ","), mult)
        return
    assert francs(number, mult) == _old_budget_amount(number, mult)


@given(_WRITTEN)
def test_price_numbers_read_as_before(number: str) -> None:
    if not _found_whole(reply_prices._NUMBER, number):
        return
    assert written_number(number) == _old_price_number(number)


@pytest.mark.parametrize("after", ["k", "mille", "thousand", "million", "millions", "mln", "miliyoni"])
def test_price_multipliers_after_a_number_as_before(after: str) -> None:
    assert MULTIPLIERS[after] == _old_price_multiplier(after, None)


@pytest.mark.parametrize("before", ["ibihumbi", "miliyoni"])
def test_price_multipliers_before_a_number_as_before(before: str) -> None:
    assert MULTIPLIERS[before] == _old_price_multiplier(None, before)


@given(st.integers(1_000, 10**9), _SEP)
def test_a_grouped_amount_reads_back_to_its_value(value: int, sep: str) -> None:
    written = f"{value:,}".replace(",", sep)
    assert written_number(written) == value
    assert francs(written) == value


@given(st.integers(1, 999), st.integers(0, 99))
def test_a_decimal_comma_is_a_decimal(whole: int, cents: int) -> None:
    assert written_number(f"{whole},{cents:02d}") == pytest.approx(whole + cents / 100)
    assert francs(f"{whole},{cents:02d}", "k") == round((whole + cents / 100) * 1000)


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("Samsung A14 under 150,000 RWF", 150_000),
        ("budget 12 500 frw", 12_500),
        ("between 10k and 15k", 15_000),
        ("ntarenze 1.5 million", 1_500_000),
        ("moins de 20.000 fr", 20_000),
        ("iPhone 12 500mg", None),
        ("budget 12'500 rwf", 12_500),
        ("budget 12\u2019500 rwf", 12_500),
    ],
)
def test_budgets_in_client_texts(text: str, budget: int | None) -> None:
    assert budget_in(text) == budget


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("1. yes 2. 15-30k 3. Remera", 15_000, 30_000),
        ("2. 12'500 rwf", 12_500, 12_500),
        ("igiciro: ibihumbi 5", 5_000, 5_000),
        ("price 1.2 million", 1_200_000, 1_200_000),
        ("500mg, 3 left", None, None),
    ],
)
def test_prices_in_vendor_replies(text: str, low: int | None, high: int | None) -> None:
    prices = read_prices(text, answered=False)
    assert (prices.low, prices.high) == (low, high)


# Amounts as receipts print them, and near misses: groups of any length after any separator, a
# decimal part of zero to three digits, a currency before or after in any case, spaces anywhere.
_DIGITS = st.from_regex(r"\A\d{0,4}\Z")
_PRINTED_NUMBER = st.builds(
    lambda head, groups, point, decimals: head + "".join(groups) + point + decimals,
    _DIGITS,
    st.lists(st.tuples(st.sampled_from([",", ".", " ", "'"]), _DIGITS).map("".join), max_size=3),
    st.sampled_from(["", ".", ",", ". "]),
    st.from_regex(r"\A\d{0,3}\Z"),
)
# Well-formed ones too, so every rule is met often: thousands groups with one separator, decimals.
_PRINTED_NUMBER = _PRINTED_NUMBER | st.builds(
    lambda head, sep, groups, point, decimals: head + "".join(sep + g for g in groups) + point + decimals,
    st.from_regex(r"\A\d{1,3}\Z"),
    st.sampled_from([",", ".", " "]),
    st.lists(st.from_regex(r"\A\d{3}\Z"), max_size=3),
    st.sampled_from(["", ".", ","]),
    st.from_regex(r"\A\d{0,2}\Z"),
)
_CURRENCY = st.sampled_from(["", "rwf", "RWF", "Frw", "rm", "RM", "usd", "ksh", "Rs", "$", "€", "£", "x"])
_PRINTED_TEXT = st.builds(
    lambda pad, before, mark, number, after, end: f"{pad}{before}{mark}{number}{after}{end}",
    st.sampled_from(["", " ", "\t", "\n"]),
    _CURRENCY,
    st.sampled_from(["", ".", ":", " ", ". "]),
    _PRINTED_NUMBER,
    st.sampled_from(["", " ", "rwf", " FRW", "frw.", "usd"]),
    st.sampled_from(["", " ", "\n", "x"]),
)


def _same(new: float | None, old: float | None) -> bool:
    return new == old and type(new) is type(old)


@given(_PRINTED_TEXT)
def test_printed_amounts_read_as_before(text: str) -> None:
    assert _same(printed_amount(text), _old_parse_amount(text))


# Every Unicode space character ("Zs"); the old reading took only " " as one.
_ANY_SPACE = st.sampled_from([" ", "\u00a0", "\u1680", *map(chr, range(0x2000, 0x200B)), "\u202f", "\u205f", "\u3000"])


def _plain_spaces(text: str) -> str:
    return re.sub("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]", " ", text)


@given(st.text(alphabet=st.sampled_from(list("0123456789.,' $€£rwfRWFmMsdk\n٣\u00a0\u202f")), max_size=16) | st.text())
def test_any_text_reads_as_before_as_a_printed_amount(text: str) -> None:
    # As before, once every space character is the plain space the old reading knew.
    assert _same(printed_amount(text), _old_parse_amount(_plain_spaces(text)))


@given(_PRINTED_TEXT, _ANY_SPACE)
def test_a_printed_amount_reads_any_space_as_a_space(text: str, space: str) -> None:
    # A typeset receipt groups thousands with a no-break or thin space: "12\u00a0500" is 12,500.
    assert _same(printed_amount(text.replace(" ", space)), printed_amount(text))


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1.500", None), ("1,234.56", 1234.56), ("9,50", 9.5), (".01", 0.01), ("12 500 RWF", 12500.0),
     ("RM: 9.00", 9.0), ("1.500.000", 1_500_000.0), ("12\u00a0500 RWF", 12500.0), ("1\u202f250\u202f000", 1_250_000.0), ("12,5", None), ("9.001", None), ("abc", None)],
)
def test_a_receipt_prints_amounts_more_strictly_than_chat(text: str, amount: float | None) -> None:
    assert printed_amount(text) == amount


# --- a phone's space groups thousands as a plain space does ---------------------------------------
# French keyboards and copy-paste from apps group thousands with a no-break (U+00A0) or narrow
# no-break (U+202F) space; some with a thin space (U+2009). The old needs fold kept them as written,
# so "budget 12 500 rwf" typed that way read as a budget of 500 (the bug these tests name).
_PHONE_SPACES = st.sampled_from(["\u00a0", "\u202f", "\u2009"])
_BUDGET_BEFORE = st.sampled_from(["budget ", "Samsung A14 under ", "moins de ", "munsi ya ", "phone ",
                                  "I need a fridge, max ", ""])
_BUDGET_AFTER = st.sampled_from([" rwf", " FRW", " francs", " max", "", " please", " in Remera"])
_PRICE_TEMPLATES = st.sampled_from(["1. yes 2. {} rwf 3. Samsung", "yes we have it, {}", "igiciro {} frw",
                                    "{} - {} rwf", "price: {}", "1. oui 2. {}"])


def _spaced(value: int, sep: str = " ") -> str:
    return f"{value:,}".replace(",", sep)


@given(_BUDGET_BEFORE, st.integers(1_000, 10**9), _BUDGET_AFTER, _PHONE_SPACES)
def test_a_phones_space_groups_a_budget_as_a_space_does(before: str, value: int, after: str, sep: str) -> None:
    plain = f"{before}{_spaced(value)}{after}"
    phone = f"{before}{_spaced(value, sep)}{after}"
    assert budget_in(phone) == budget_in(plain)
    assert extract_requirements(phone).budget_max == extract_requirements(plain).budget_max
    if before.strip() in ("budget", "Samsung A14 under", "moins de", "munsi ya"):
        assert budget_in(phone) == value  # a cue word makes it a budget: the whole amount is read


@given(_BUDGET_BEFORE, st.integers(1_000, 10**9), _BUDGET_AFTER, st.sampled_from(["'", "\u2019", "\u02bc"]))
def test_an_apostrophe_groups_a_budget_as_a_space_does(before: str, value: int, after: str, sep: str) -> None:
    plain = f"{before}{_spaced(value)}{after}"
    assert budget_in(f"{before}{_spaced(value, sep)}{after}") == budget_in(plain)


@given(_PRICE_TEMPLATES, st.integers(1_000, 10**8), st.integers(1_000, 10**8), _PHONE_SPACES)
def test_a_phones_space_groups_a_price_as_a_space_does(template: str, a: int, b: int, sep: str) -> None:
    plain = parse_vendor_reply(template.format(_spaced(a), _spaced(b)))
    phone = parse_vendor_reply(template.format(_spaced(a, sep), _spaced(b, sep)))
    assert (phone.price_min, phone.price_max) == (plain.price_min, plain.price_max)
    assert phone.price_min is not None


_AMOUNT_PIECES = st.sampled_from(list("0123456789 ,.'kx\n") + ["rwf", "budget ", "under ", "500mg", " to ",
                                                                "12 500", "1 250 000"])


@given(st.lists(_AMOUNT_PIECES, max_size=20).map("".join) | st.text(max_size=30), _PHONE_SPACES)
def test_any_text_reads_the_same_amounts_with_a_phones_spaces(text: str, sep: str) -> None:
    phone = text.replace(" ", sep)
    assert budget_in(phone) == budget_in(text)
    assert parse_vendor_reply(phone).price_max == parse_vendor_reply(text).price_max


@pytest.mark.parametrize("sep", ["\u00a0", "\u202f"])
def test_a_budget_typed_with_a_no_break_space_is_the_whole_amount(sep: str) -> None:
    assert budget_in(f"Samsung A14 budget 12{sep}500 rwf") == 12_500
    assert budget_in(f"frigo moins de 1{sep}250{sep}000 francs") == 1_250_000
