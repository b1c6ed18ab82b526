"""The run page's metrics over time: per-minute sums put into at most 24 buckets, nothing lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulators.html.over_time import MAX_BUCKETS, buckets, over_time_view

KEYS = ("opened", "shortlisted", "errors")
minute_rows = st.dictionaries(
    st.integers(min_value=0, max_value=3 * 24 * 60).map(str),
    st.fixed_dictionaries({k: st.integers(min_value=0, max_value=50) for k in KEYS},
                          optional={"tts_sum_s": st.floats(min_value=0, max_value=5000)}),
    max_size=60)


@given(minute_rows)
def test_buckets_keep_every_count_and_put_each_minute_where_it_belongs(per_minute):
    size, rows = buckets(per_minute)
    if not per_minute:
        assert (size, rows) == (0, [])
        return
    assert len(rows) <= MAX_BUCKETS
    for key in KEYS:
        assert sum(r[key] for r in rows) == sum(v[key] for v in per_minute.values())
    for minute in per_minute:
        row = rows[int(minute) // size]
        assert row["start"] <= int(minute) < row["start"] + size
    assert [r["start"] for r in rows] == [i * size for i in range(len(rows))]


def test_the_mean_time_to_shortlist_is_per_shortlist_and_empty_buckets_have_none():
    size, rows = buckets({"0": {"opened": 2, "shortlisted": 2, "tts_sum_s": 600.0}, "11": {"opened": 1}})
    assert size == 5
    assert [(r["label"], r["opened"], r["mean_tts_min"]) for r in rows] == [
        ("+0:00", 2, 5.0), ("+0:05", 0, None), ("+0:10", 1, None)]


def test_the_charts_scale_to_the_largest_count_and_keep_the_rollback_line_in_view():
    view = over_time_view({"0": {"opened": 7, "shortlisted": 1, "tts_sum_s": 120.0}, "30": {"errors": 1}})
    assert view["counts"]["ymax"] == 10  # 7 rounded up to a round axis top
    assert [s["name"] for s in view["counts"]["series"]] == [
        "requests opened", "shortlists delivered", "requests that ended in error"]
    assert [line["name"] for line in view["tts"]["lines"]] == ["6 min target", "10 min rollback line"]
    assert view["tts"]["ymax"] == 20  # a 2-minute mean still shows the 10-minute line
    assert over_time_view({}) is None
