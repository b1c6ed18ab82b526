"""The runbook's configuration blocks, the phase profiles and the percent-rollout cohort."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concierge.flags import cohort_bucket
from simulators.rollout.env import EnvFileInvalid, parse_env_text, profile

RUNBOOK_PHASE2 = """```bash
FEATURE_AI_CONCIERGE=true
FEATURE_AI_CONCIERGE_OCR=true
FEATURE_AI_CONCIERGE_CALLING=false  # Still OFF

AI_CONCIERGE_ALLOWLIST_PHONES=  # Clear allowlist
AI_CONCIERGE_PERCENT_ROLLOUT=5  # 5% of traffic
```"""


def test_runbook_block_reads_with_comments_and_empty_values():
    env = parse_env_text(RUNBOOK_PHASE2)
    assert env == {"FEATURE_AI_CONCIERGE": "true", "FEATURE_AI_CONCIERGE_OCR": "true",
                   "FEATURE_AI_CONCIERGE_CALLING": "false", "AI_CONCIERGE_ALLOWLIST_PHONES": "",
                   "AI_CONCIERGE_PERCENT_ROLLOUT": "5"}


def test_quotes_export_and_hash_inside_a_word():
    env = parse_env_text('export A="x # not a comment"  # comment\nB=pass#word\nC=\'q\'')
    assert env == {"A": "x # not a comment", "B": "pass#word", "C": "q"}


def test_a_line_that_is_not_key_value_names_its_line():
    with pytest.raises(EnvFileInvalid, match=r"f.env:2"):
        parse_env_text("A=1\nthis is prose\n", "f.env")


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_cleanly(text):
    try:
        env = parse_env_text(text)
    except EnvFileInvalid:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())


def test_phase_profiles_carry_the_runbook_settings():
    p1, p2, p3 = profile("phase1"), profile("phase2"), profile("phase3")
    assert p1.flags.allowlist == {"+250780000001", "+250780000002"} and p1.flags.percent == 0
    assert p1.flags.ai and p1.flags.ocr and not p1.flags.calling
    assert p2.caps.max_vendors_per_request == 10 and p2.max_pilot_users == 50
    assert p2.flags.percent == 5 and not p2.flags.allowlist and not p2.flags.calling
    assert p3.flags.calling and p3.flags.percent == 25 and p3.caps.max_vendors_per_request == 15


def test_env_file_overrides_the_profile(tmp_path):
    f = tmp_path / "kill.env"
    f.write_text("FEATURE_AI_CONCIERGE=false  # full rollback\n")
    assert not profile("phase2", f).flags.ai
    assert profile("phase2", f).flags.percent == 5


def test_five_percent_rollout_sends_about_five_percent_to_the_ai_path():
    flags = profile("phase2").flags
    rng = random.Random(7)
    phones = {f"+25078{rng.randrange(10**7):07d}" for _ in range(20000)}
    share = sum(flags.in_ai_cohort(p) for p in phones) / len(phones)
    assert 0.045 < share < 0.055
    # stable: the same phone is in the same bucket every time (SHA-256, not hash())
    p = sorted(phones)[0]
    assert cohort_bucket(p) == cohort_bucket(p)


def test_allowlist_only_phase1_cohort():
    flags = profile("phase1").flags
    assert flags.in_ai_cohort("+250780000001")
    assert not flags.in_ai_cohort("+250788123456")


def test_a_whole_runbook_passed_as_env_file_gets_a_hint(tmp_path):
    from simulators.rollout.env import load_env_file

    runbook = tmp_path / "runbook.md"
    runbook.write_text("# Rollout\n\nPhased rollout strategy.\n\n```bash\nA=1\n```\n")
    with pytest.raises(EnvFileInvalid, match=r"runbook.md:3: .*Markdown document.*--profile"):
        load_env_file(runbook)
    plain = tmp_path / "x.env"
    plain.write_text("A=1\nprose here\n")
    with pytest.raises(EnvFileInvalid) as info:
        load_env_file(plain)
    assert "Markdown" not in str(info.value)
