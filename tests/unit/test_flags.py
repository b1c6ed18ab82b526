"""Feature flags: OFF unless explicitly on; a stable cohort hash; the allowlist wins."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from concierge.flags import Flags, cohort_bucket, parse_bool, parse_percent


def test_defaults_are_off():
    flags = Flags.from_mapping({})
    assert (flags.ai, flags.ocr, flags.calling) == (False, False, False)
    assert not flags.in_ai_cohort("+250780000001")


@given(st.one_of(st.none(), st.text(), st.integers(), st.floats(allow_nan=True), st.lists(st.text())))
def test_anything_but_an_explicit_yes_is_false(value):
    explicit = value is True or value == 1 or (
        isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"})
    assert parse_bool(value) is bool(explicit)


def test_percent_parsing():
    assert parse_percent(None) is None
    assert parse_percent("") is None
    assert parse_percent("abc") is None
    assert parse_percent("5") == 5.0
    assert parse_percent(250) == 100.0
    assert parse_percent(-3) == 0.0


def test_allowlist_only_when_percent_zero():
    flags = Flags.from_mapping({"FEATURE_AI_CONCIERGE": "true", "AI_CONCIERGE_PERCENT_ROLLOUT": "0",
                                "AI_CONCIERGE_ALLOWLIST_PHONES": "+250780000001, 0780000002,bogus"})
    assert flags.in_ai_cohort("+250780000001")
    assert flags.in_ai_cohort("+250780000002")
    assert not flags.in_ai_cohort("+250780000003")


def test_unset_percent_means_master_flag_decides():
    assert Flags.from_mapping({"FEATURE_AI_CONCIERGE": "true"}).in_ai_cohort("+250780000003")
    assert not Flags.from_mapping({"AI_CONCIERGE_PERCENT_ROLLOUT": "100"}).in_ai_cohort("+250780000003")


def test_five_percent_is_about_five_percent():
    flags = Flags.from_mapping({"FEATURE_AI_CONCIERGE": "1", "AI_CONCIERGE_PERCENT_ROLLOUT": "5"})
    phones = [f"+25078{n:07d}" for n in range(20000)]
    share = sum(flags.in_ai_cohort(p) for p in phones) / len(phones)
    assert 0.04 < share < 0.06


def test_bucket_is_stable_across_processes():
    code = "from concierge.flags import cohort_bucket; print(repr(cohort_bucket('+250788123456')))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123"})
    assert float(other.stdout) == cohort_bucket("+250788123456")


@given(st.lists(st.sampled_from(["+250788123456", "+250788000001", "+250780000301"]) | st.text(max_size=16),
                max_size=20))
def test_a_remembered_bucket_is_the_hash_of_the_number(phones):
    """The bucket is remembered by number: asked again, in any order, it is what SHA-256 gives."""
    for phone in [*phones, *reversed(phones)]:
        digest = hashlib.sha256(phone.encode("utf-8")).digest()
        assert cohort_bucket(phone) == int.from_bytes(digest[:8], "big") / 2**64 * 100.0
