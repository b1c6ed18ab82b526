"""concierge.json_text writes and reads exactly what the standard library's json does.

Every property compares the outcome of the two (the text, or the exception's type and message) on
values and texts built to reach orjson's known differences: floats of every size (tiny, subnormal,
-0.0, NaN, infinities), ints beyond 64 bits, lone surrogates, non-str keys, tuples, subclasses,
types json refuses, deep nesting, and texts json reads that orjson does not (or reads otherwise).
For values json refuses with TypeError but orjson writes (a UUID, a plain Enum, an orjson.Fragment)
the writer may give orjson's text instead (the module's docstring): ``written_as_json_writes`` says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from concierge import json_text
from concierge.json_text import json_writer, read_json

# The three ways the project writes JSON: the ledger's columns, the fake Cloud API's signed webhook
# bodies (json.dumps' defaults), and httpx's request bodies.
WRITERS = {
    "ledger": dict(sort_keys=True, ensure_ascii=False, check_circular=False),
    "webhook": dict(),
    "httpx": dict(ensure_ascii=False, allow_nan=False),
}

any_char = st.characters(codec=None, categories=None)  # surrogates and control characters included
texts = st.text(any_char, max_size=8) | st.sampled_from(["", "e-5", "0.00001", "null", "\x7f", "é", "😀", "\ud800"])
floats = (st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
          | st.floats(min_value=-1e-4, max_value=1e-4)
          | st.sampled_from([1e-05, -2.5e-07, 9.99e-05, 1e-4, 5e-324, -0.0, 1e16, 1e22, float("nan")]))
ints = st.integers() | st.integers(min_value=2**63 - 3, max_value=2**64 + 3) | st.sampled_from([-2**63, -2**63 - 1])
leaves = st.none() | st.booleans() | ints | floats | texts
keys = texts | st.integers(-3, 3) | st.sampled_from([1.5, None, True])


def trees(keys: st.SearchStrategy[Any] = texts) -> st.SearchStrategy[Any]:
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                        | st.dictionaries(keys, inner, max_size=4), max_leaves=20)


class Colour(enum.Enum):
    RED = 1


class Size(enum.IntEnum):
    SMALL = 1


class Label(str, enum.Enum):
    A = "a"


class Tiny(float, enum.Enum):
    """json writes these as floats (1e-05, NaN), orjson as their values (0.00001, null)."""
    SMALL = 1e-05
    NAN = float("nan")
    INF = float("inf")


class Ratio(float):
    pass


class Record(dict):
    pass


class Renamed(dict):
    """json writes a dict subclass from its items(), orjson from its contents."""

    def items(self):  # type: ignore[override]
        return [("renamed", 1)]


@dataclasses.dataclass
class Point:
    x: int


# Values json refuses or writes its own way that orjson would write: each must come out as json's.
ODD_VALUES = [
    uuid.UUID(int=7), Colour.RED, Size.SMALL, Label.A, Tiny.SMALL, Tiny.NAN, Tiny.INF, Ratio(1e-5), Ratio(0.5), Record(b=1, a=2), Renamed(a=2),
    Point(1), datetime.date(2026, 1, 2), datetime.datetime(2026, 1, 2, 3, 4), orjson.Fragment(b"[1]"),
    b"bytes", {1, 2}, object,
]
odd_leaves = st.sampled_from(ODD_VALUES)


def outcome(function: Any, value: Any) -> tuple[str, str]:
    try:
        return "ok", function(value)
    except (TypeError, ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


def written_as_json_writes(options: dict[str, Any], value: Any) -> None:
    """The writer's contract: json's text (or exception) for every value json writes; for a value json
    refuses with TypeError, that TypeError or orjson's own text (never anything else)."""
    expected = outcome(json.JSONEncoder(separators=(",", ":"), **options).encode, value)
    got = outcome(json_writer(**options), value)
    if expected[0] == "TypeError" and got[0] == "ok":
        option = json_text._OPTION | (orjson.OPT_SORT_KEYS if options.get("sort_keys") else 0)
        assert got == ("ok", orjson.dumps(value, option=option).decode())
    else:
        assert got == expected


def fingerprint(value: Any) -> str:
    """repr tells int from float, -0.0 from 0.0 and one key order from another (== does not)."""
    return repr(value)


def read_outcome(function: Any, text: Any) -> tuple[str, str]:
    try:
        return "ok", fingerprint(function(text))
    except (TypeError, ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


# --- writing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("options", WRITERS.values(), ids=WRITERS.keys())
@given(value=trees(keys) | trees(texts))
@example(value={"a": 1e-05, "b": [2.5e-07, None]})
@example(value=[float("nan"), None])
@example(value={"x": float("inf")})
@example(value={"big": 2**64, "ok": 2**64 - 1})
@example(value={"\ud800": 1})
@example(value=(1, [2, (3,)]))
@example(value={"é": "😀\x7f\x00\x1f", "a": "\u2028"})
@example(value={"\U0001f600": 1, "\uffff": 2, "z": 3})  # code point order, not UTF-16's
def test_writes_what_json_writes(options: dict[str, Any], value: Any) -> None:
    expected = outcome(json.JSONEncoder(separators=(",", ":"), **options).encode, value)
    assert outcome(json_writer(**options), value) == expected


@pytest.mark.parametrize("options", WRITERS.values(), ids=WRITERS.keys())
@given(value=st.recursive(leaves | odd_leaves, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(texts, inner, max_size=3), max_leaves=8))
def test_writes_what_json_writes_for_types_orjson_writes_natively(options: dict[str, Any], value: Any) -> None:
    written_as_json_writes(options, value)


@pytest.mark.parametrize("options", WRITERS.values(), ids=WRITERS.keys())
@pytest.mark.parametrize("odd", ODD_VALUES, ids=lambda odd: type(odd).__name__)
def test_each_type_orjson_writes_natively_is_written_as_json_writes(options: dict[str, Any], odd: Any) -> None:
    for value in (odd, [odd], {"k": odd, "a": None}, {"k": [odd, 1.5], "n": {"x": None}}):
        written_as_json_writes(options, value)


@pytest.mark.parametrize("options", WRITERS.values(), ids=WRITERS.keys())
@pytest.mark.parametrize("value", [
    float("nan"), [float("-inf")], {"a": {"b": [1, float("nan")]}}, {"z": [{"y": float("inf")}], "a": "null"},
    {"a": None, "b": [None, float("nan")]}, [[[Tiny.NAN]]], {"k": Tiny.INF, "s": "x"},
], ids=repr)
def test_a_nan_or_infinity_anywhere_is_written_as_json_writes(options: dict[str, Any], value: Any) -> None:
    # orjson writes each of these with "null" where json writes NaN or Infinity (or refuses them
    # with allow_nan=False): the writer must see the null, wherever it stands, and hand over to json.
    assert b"null" in orjson.dumps(value)
    expected = outcome(json.JSONEncoder(separators=(",", ":"), **options).encode, value)
    assert outcome(json_writer(**options), value) == expected
    assert expected[0] == "ValueError" or "NaN" in expected[1] or "Infinity" in expected[1]


def test_the_standard_mixin_enums_are_written_as_json_writes() -> None:
    # Values json writes (an int, a str, a float) that orjson writes as Enum values: the contract's
    # exactness covers them (the docstring's one exception is a custom value, not these).
    for options in WRITERS.values():
        for value in ({"s": Size.SMALL, "l": Label.A}, [Tiny.SMALL, Label.A], Tiny.NAN):
            expected = outcome(json.JSONEncoder(separators=(",", ":"), **options).encode, value)
            assert outcome(json_writer(**options), value) == expected


@pytest.mark.parametrize("options", WRITERS.values(), ids=WRITERS.keys())
def test_deep_nesting_is_written_or_refused_as_json_does(options: dict[str, Any]) -> None:
    for depth in (200, 300, 5000):
        value: Any = []
        for _ in range(depth):
            value = [value, {"k": 1.5}]
        expected = outcome(json.JSONEncoder(separators=(",", ":"), **options).encode, value)
        assert outcome(json_writer(**options), value) == expected


@given(value=st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True))
def test_every_finite_float_is_written_as_repr(value: float) -> None:
    assert json_writer(sort_keys=True, ensure_ascii=False)([value]) == f"[{value!r}]"


def test_the_installed_orjson_writes_no_float_form_the_check_misses() -> None:
    # If this fails, a new orjson writes floats in a form _small_float_risk does not catch: the
    # writer has fallen back to json for every value (correct, but slow) until the check learns it.
    assert json_text._ORJSON_FLOATS_KNOWN


class Refusing(json.JSONEncoder):
    def encode(self, o: Any) -> str:
        raise AssertionError(f"json asked for {o!r}")


@pytest.mark.parametrize("options", WRITERS.values(), ids=WRITERS.keys())
def test_a_text_orjson_writes_is_taken_as_it_is(options: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast path is really taken for ordinary values, a null among them included (the rest of this
    # file would pass even if every value went to json): the writer is built with a json that refuses.
    monkeypatch.setattr(json_text.json, "JSONEncoder", Refusing)
    writer = json_writer(**options)
    monkeypatch.undo()
    other = "x-1" if options.get("ensure_ascii", True) else "é"
    for value in ({"b": [1, 2.5, True], "a": "e"}, {"b": [1, 2.5, None, True], "a": other}, None, [0.5, "null"]):
        text = writer(value)
        assert text == orjson.dumps(value, option=orjson.OPT_SORT_KEYS if options.get("sort_keys") else 0).decode()
        assert text == json.JSONEncoder(separators=(",", ":"), **options).encode(value)


# --- reading ------------------------------------------------------------------------------------

written = st.builds(
    lambda value, ascii_, nan: json.dumps(value, ensure_ascii=ascii_, allow_nan=True,
                                          separators=(",", ":") if nan else (", ", ": ")),
    trees(texts), st.booleans(), st.booleans(),
)
# Fragments json reads and orjson does not (or reads otherwise), pasted into texts that json wrote.
ODD_FRAGMENTS = [
    "NaN", "-Infinity", "Infinity", "123456789012345678901234567890", "18446744073709551616",
    "-9223372036854775809", "18446744073709551615", "9223372036854775807", "1e400", "-1e400", "1e-400",
    '"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', "\ufeff1", "[1,]", "01", "1.", ".5", "-0", "-0.0",
    '{"a":1,"a":2}', "[" * 1100 + "]" * 1100, "[" * 300 + "]" * 300, '"\x00"', '"\x7f"', "\x0c1", "1 ",
    '"\ud800"', "0.1000000000000000055511151231257827021181583404541015625", "2.2250738585072011e-308",
    "1" * 400 + ".0", "1" * 5000, "1e0000000000000000000005", "12345678901234567890.5", "1.2345678901234567890123e5",
    '"RW.12345678901234567890"', '"x 12345678901234567890"',
]
PREFIXES = ["", "[", '{"k":', " ", "[1, ", '{"k": ', "[\t", "\r\n"]
SUFFIXES = ["", "]", "}", " "]
odd_texts = (st.builds(lambda a, b, c: a + b + c, st.sampled_from(PREFIXES), st.sampled_from(ODD_FRAGMENTS),
                       st.sampled_from(SUFFIXES))
             | st.text(st.sampled_from('[]{}",:0123456789.eE+-tfnrulasNIy \\u\t\n'), max_size=30)
             | st.text(any_char, max_size=10))


@given(text=written | odd_texts)
@example(text='{"b":1,"a":[2,{"c":null}],"b":3}')
def test_reads_what_json_reads(text: str) -> None:
    assert read_outcome(read_json, text) == read_outcome(json.loads, text)


def test_reads_each_odd_fragment_as_json_does_wherever_it_stands() -> None:
    for fragment in ODD_FRAGMENTS:
        for prefix in PREFIXES:
            for suffix in SUFFIXES:
                text = prefix + fragment + suffix
                assert read_outcome(read_json, text) == read_outcome(json.loads, text), text[:80]


@given(text=written | odd_texts, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32-le"]))
def test_reads_bytes_as_json_does(text: str, encoding: str) -> None:
    data = text.encode(encoding, "surrogatepass")
    assert read_outcome(read_json, data) == read_outcome(json.loads, data)
    assert read_outcome(read_json, bytearray(data)) == read_outcome(json.loads, bytearray(data))


@given(value=st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
       form=st.sampled_from(["{!r}", "{:.17g}", "{:.25e}", "{:.3e}", "{:f}"]))
def test_reads_every_float_as_json_does(value: float, form: str) -> None:
    text = form.format(value)
    assert read_outcome(read_json, text) == read_outcome(json.loads, text)


def test_reads_other_types_as_json_does() -> None:
    for odd in (memoryview(b"[1]"), 12, None):
        assert read_outcome(read_json, odd) == read_outcome(json.loads, odd)
