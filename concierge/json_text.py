"""JSON text exactly as the standard library writes and reads it, at orjson's speed where that is sure.

The ledger's columns, the webhook bodies and the Cloud API's requests are compared byte for byte
(rollout outputs, HMAC signatures), so a faster codec may only be used where its answer is the one
``json`` would give. orjson (compiled) writes and reads the same JSON as ``json`` for almost every
value; where it does not, it either refuses (and ``json`` answers instead) or differs in a way that
each function below detects cheaply and hands back to ``json``.

Writing (``json_writer``): **the same text as ``json`` for every value ``json`` can write** (or the
same exception where ``json`` raises ValueError or RecursionError), with one exception below. orjson's
text is kept only when
- orjson accepted the value: it refuses ints beyond 64 bits, non-str keys (a str subclass too), lone
  surrogates, nesting past 255, subclasses of str, int, float, tuple, list and dict other than Enum
  members, dataclasses and datetimes (the pass-through options), which ``json`` then writes (or
  refuses) its own way;
- the text holds no ``null`` that stands for a NaN or an infinity: orjson writes those as ``null``
  (``json`` writes ``NaN``, ``Infinity``), so a text without ``null`` cannot hide one, and a text with
  ``null`` is read back and kept only if it reads back equal to the value (NaN never equals);
- no float is in a form ``repr`` writes otherwise: orjson writes ``0.00001`` and ``2.5e-7`` where
  Python writes ``1e-05`` and ``2.5e-07`` (every other float is the same shortest repr). The check
  is a substring test over the whole text, so a string that merely contains ``e-`` costs a
  second look, never a wrong answer. At import, a handful of probe floats confirm that the
  installed orjson writes nothing this check would miss; if one does, every value goes to ``json``.
- with ``ensure_ascii``: the text is ASCII without DEL (``json`` escapes both, orjson neither).
A tuple is written as a list by both. Values ``json`` refuses with TypeError but orjson writes
natively (a UUID, a plain Enum member, an ``orjson.Fragment``) may come out as orjson's text instead of
the TypeError (when that text holds no ``null``): the checks above look at the text, and reading every
text back to catch these cost more than orjson's writing itself. The exception among values ``json``
writes is an Enum member with a mixin type (``class E(int, Enum)``) whose value is not the member's
own int/str/float (a custom ``__new__`` that sets another ``_value_``): ``json`` writes the member as
that int/str/float, orjson writes its value. A standard mixin Enum (``IntEnum``, ``class E(str, Enum)``)
has its value equal to itself and is written exactly as ``json`` does. Nothing in this project writes
any of these (the ledger, webhook and Cloud API values are JSON-native dicts, lists and scalars).

Reading (``read_json``), orjson's value is kept unless orjson refused the text (NaN literals, lone
surrogate escapes, nesting past 1024, numbers beyond a double, a BOM, anything malformed: ``json``
then answers or raises exactly as before) or the text may hold an integer of 19 digits or more: orjson
reads an integer beyond 64 bits as a float where ``json`` keeps the int, so such texts go to ``json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

# orjson's forms of floats below 1e-4 that repr writes otherwise (0.00001 vs 1e-05, 2.5e-7 vs
# 2.5e-07). The substring test is the cheap sieve; the expression confirms a float is there.
_SMALL_FLOAT = re.compile(r"0\.0000|e-\d(?!\d)")

# Floats whose text differs between the two writers in every orjson version seen, and a spread of
# ordinary ones: each must come out equal to repr or be caught by the check above.
_PROBES = (1e-05, 2.5e-07, 1e-07, 9.99e-05, 0.0001, 1e-10, 1.5e-300, 5e-324, 2.2250738585072014e-308,
           0.1, -0.0, 123.456, 1e15, 9999999999999998.0, 1e16, 1.5e16, 1e22, 1.7976931348623157e308,
           12345678901234567890.0, 1e-100, 3.14159e-9)


def _small_float_risk(text: str) -> bool:
    # "-" first: one character is found faster than two, and 60 % of the bench run's texts have none.
    return ("0.0000" in text or ("-" in text and "e-" in text)) and _SMALL_FLOAT.search(text) is not None


def _orjson_floats_known() -> bool:
    """True when the installed orjson writes every probe float as repr does, or in a form caught."""
    for value in _PROBES:
        for probe in (value, -value):
            text = orjson.dumps(probe).decode()
            if text != repr(probe) and not _small_float_risk(text):
                return False
    return True


_ORJSON_FLOATS_KNOWN = _orjson_floats_known()
_OPTION = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def json_writer(*, sort_keys: bool = False, ensure_ascii: bool = True, allow_nan: bool = True,
               check_circular: bool = True) -> Callable[[Any], str]:
    """``json.JSONEncoder(separators=(",", ":"), **options).encode`` with orjson doing the work when
    its text is sure to be the same (see the module's docstring). Only the compact separators: that
    is the one form orjson writes. Gives the writer as a function (a closure over its options): the
    writers run ~95 times a simulated request, and a closure's call costs a third of an instance's
    ``__call__``."""
    stdlib = json.JSONEncoder(
        sort_keys=sort_keys, ensure_ascii=ensure_ascii, allow_nan=allow_nan,
        check_circular=check_circular, separators=(",", ":"),
    ).encode
    if not _ORJSON_FLOATS_KNOWN:
        return stdlib
    # Subclasses, dataclasses and datetimes: orjson would write them, json writes or refuses
    # them its own way, so orjson hands them back (it raises, and json answers).
    option = _OPTION | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    dumps, loads, small_float = orjson.dumps, orjson.loads, _SMALL_FLOAT.search

    # _small_float_risk, inlined: this runs for every value the ledger writes. The read-back, last
    # and only for a text with "null": the one place a NaN or an infinity can hide.
    def write(value: Any) -> str:
        try:
            raw = dumps(value, option=option)
        except TypeError:  # orjson.JSONEncodeError: a value orjson does not write
            return stdlib(value)
        text = raw.decode()
        if ((("0.0000" in text or ("-" in text and "e-" in text)) and small_float(text) is not None)
                or ("null" in text and loads(raw) != value)):
            return stdlib(value)
        return text

    def write_ascii(value: Any) -> str:  # the same, and json escapes what is not ASCII, and DEL
        try:
            raw = dumps(value, option=option)
        except TypeError:
            return stdlib(value)
        text = raw.decode()
        if ((("0.0000" in text or ("-" in text and "e-" in text)) and small_float(text) is not None)
                or not raw.isascii() or "\x7f" in text
                or ("null" in text and loads(raw) != value)):
            return stdlib(value)
        return text

    return write_ascii if ensure_ascii else write


# An integer token of 19 digits or more (orjson reads one beyond 64 bits as a float): the text mapped
# through _NUMBER_STARTS has digits as "0" and every byte a number token may follow (":", ",", "[",
# JSON whitespace, the minus sign) as ":", so such a token shows as ":" and 19 "0"s (or 19 "0"s at the
# very start). Digits inside strings follow other bytes ("RW.1234...", a letter), a run of them
# in a string after one of those bytes costs a second reading by json, never a wrong one.
_LONG_INTEGER = b":" + b"0" * 19
_LONG_DIGITS = _LONG_INTEGER[1:]
_NUMBER_STARTS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x3A if byte in b":,[ \t\n\r-" else 0x78
                       for byte in range(256))


def read_json(text: str | bytes | bytearray) -> Any:
    """``json.loads(text)``: the same value, or the same exception, read by orjson when it is sure
    to be the same (see the module's docstring)."""
    if isinstance(text, str):
        try:
            raw = text.encode()
        except UnicodeEncodeError:  # a lone surrogate: json reads it, orjson cannot
            return json.loads(text)
    elif isinstance(text, (bytes, bytearray)):
        raw = text
    else:  # json refuses other types with its own message
        return json.loads(text)
    # rfind rather than `in`: 0.55 against 0.72 µs on the bench run's texts (measured, in-process).
    shape = raw.translate(_NUMBER_STARTS)
    if shape.rfind(_LONG_INTEGER) >= 0 or shape.startswith(_LONG_DIGITS):
        return json.loads(text)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(text)
