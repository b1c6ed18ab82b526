"""The scenario loader: what loads, what it becomes, and how every malformed file is reported."""

from __future__ import annotations

import operator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.replay.durations import DurationError, format_duration, parse_duration
from simulators.replay.loader import (
    ACTIONS,
    TOP_KEYS,
    discover,
    load_scenario,
    load_vendor_fixture,
)
from simulators.replay.model import Count, Problem, Scenario, ScenarioInvalid

HERE = Path(__file__).parents[1]  # tests/, home of the scenario folders every kind shares
BAD = HERE / "bad_scenarios"
GOOD = HERE / "good_scenarios"
REPO = HERE.parent
EXPECTED = yaml.safe_load((BAD / "expected.yaml").read_text("utf-8"))


def problems_of(path: Path | str) -> list[Problem]:
    with pytest.raises(ScenarioInvalid) as info:
        load_scenario(path)
    return info.value.problems


# --- the corpus of malformed files ----------------------------------------------------------------


def test_corpus_is_complete_and_large_enough():
    files = {p.name for p in BAD.glob("*.yaml")} - {"expected.yaml"}
    assert files == set(EXPECTED), "every bad file needs an entry in expected.yaml, and vice versa"
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_reports_expected_problems(name):
    path = BAD / name
    problems = problems_of(path)
    assert problems, "ScenarioInvalid must carry at least one problem"
    for want in EXPECTED[name]:
        in_file = str(BAD / want["in_file"]) if "in_file" in want else str(path)
        matching = [
            p for p in problems
            if p.line == want["line"] and want["contains"] in p.message
            and want.get("key", "") in p.key and Path(p.file).resolve() == Path(in_file).resolve()
        ]
        assert matching, f"{name}: no problem at line {want['line']} containing {want['contains']!r}; got:\n" + \
            "\n".join(map(str, problems))
    for p in problems:
        assert p.key and p.message and p.line >= 0
        assert str(p) == f"{p.file}:{p.line} {p.key}: {p.message}"
        assert "Traceback" not in p.message and "(loader)" not in p.key


def test_multiple_defects_are_all_reported_at_once_in_line_order():
    problems = problems_of(BAD / "multiple_defects.yaml")
    assert len(problems) >= len(EXPECTED["multiple_defects.yaml"])
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_exception_text_lists_every_problem():
    with pytest.raises(ScenarioInvalid) as info:
        load_scenario(BAD / "multiple_defects.yaml")
    text = str(info.value)
    assert all(str(p) in text for p in info.value.problems)


def test_missing_file_and_folder_are_problems_not_tracebacks(tmp_path):
    missing = problems_of(tmp_path / "nope.yaml")
    assert missing[0].line == 0 and "no such file" in missing[0].message
    folder = problems_of(tmp_path)
    assert "folder" in folder[0].message


def test_file_keeps_the_path_as_given():
    rel = "tests/bad_scenarios/empty.yaml"
    problems = problems_of(REPO / rel)
    assert problems[0].file == str(REPO / rel)


# --- what loads -----------------------------------------------------------------------------------


def test_scenario_format_example_loads():
    s = load_scenario(GOOD / "format_example.yaml")
    assert s.id == "pharmacy_text_happy_path"
    assert s.tags == ("phase0", "shortlist") and s.seed == 1
    assert s.flags == {"FEATURE_AI_CONCIERGE": True, "FEATURE_AI_CONCIERGE_OCR": True,
                       "FEATURE_AI_CONCIERGE_CALLING": False, "AI_CONCIERGE_ALLOWLIST_PHONES": "+250780000001",
                       "AI_CONCIERGE_PERCENT_ROLLOUT": 0}
    assert s.caps == {"max_vendors_per_request": 10}
    (vendor,) = s.vendors
    assert vendor.phone == "+250788000101" and vendor.categories == ("pharmacy",)
    assert (vendor.lat, vendor.lng) == pytest.approx((-1.949, 30.126))
    assert s.clients[0].area == "Kimironko" and s.clients[0].language == "en"
    assert [st.kind for st in s.steps] == ["client", "expect", "vendor", "advance", "expect"]
    assert [st.index for st in s.steps] == [1, 2, 3, 4, 5]
    assert s.steps[3].args == {"advance": "2m", "seconds": 120.0}
    expect = s.steps[1]
    assert expect.args["expect"] == {"state": "awaiting_vendor_replies", "outreach": {"count": 3, "batches": 1}}
    source = s.source_lines
    assert source[expect.line - 1].strip() == "- expect:"
    assert source[expect.key_lines["expect.state"] - 1].strip().startswith("state: awaiting_vendor_replies")
    assert "outreach:" in source[expect.key_lines["expect.outreach.count"] - 1]
    assert s.steps[0].line == source.index("  - client: alice") + 1


def test_every_step_kind_is_normalized():
    s = load_scenario(GOOD / "every_step_kind.yaml")
    by = {st.index: st for st in s.steps}
    assert s.caps == {"max_vendors_per_request": 10, "batch_silence_s": 90.0, "radius_default_km": 3.0}
    assert s.expected_log_errors == ("brain unavailable",)
    assert by[1].id == "first" and by[1].note == "the opening message" and "id" not in by[1].args
    assert by[2].args == {"redeliver": "first"}
    image = by[4].args
    assert Path(image["path"]) == (REPO / "fixtures/images/prescription_clean_1.png").resolve()
    assert Path(image["path"]).is_absolute() and image["caption"] == "Kimironko please"
    assert by[5].args["document"]["render"] == "invoice" and "path" not in by[5].args
    assert by[9].args["seconds"] == 5400.0 and by[10].args["seconds"] == 0.5
    assert by[12].args["brain_next"] == "not json at all {"
    assert by[14].args["fault"] == {"target": "whatsapp_send", "status": 500, "times": 2, "retry_after": 1.5}
    assert by[15].args["fault"]["times"] == 1  # the default is made explicit
    expect = by[16].args["expect"]
    assert list(expect)[0] == "client"  # the author's order is kept
    assert expect["outreach"]["vendors"] == ["pharma_plus"]  # one id becomes a list
    assert expect["ocr"]["drugs"] == ["Amoxicillin"]
    far = s.vendors[1]
    assert far.phone == "+250788000102" and far.categories == ("pharmacy",) and far.opted_out
    assert (far.lat, far.lng) == (-2.1, 30.1) and far.area == "Bugesera road"
    assert s.vendors[0].lat == pytest.approx(-1.949)  # "kimironko market" is an alias
    assert s.clients[1].phone == "+250780000002"
    assert isinstance(s.steps[0].args, dict) and type(expect) is dict and type(expect["states"]) is list


def test_vendor_fixture_csv_and_yaml():
    rows = load_vendor_fixture(GOOD / "fixtures/vendors.csv")
    assert rows[0] == {"id": "pharma_plus", "name": "Pharma Plus", "phone": "0788 000 101",
                       "categories": "pharmacy", "area": "Kimironko", "rating": 4.6,
                       "avg_response_minutes": 4.0, "active": True, "opted_out": False, "language": "en"}
    assert rows[1]["opted_out"] is True and "rating" not in rows[1]
    s = load_scenario(GOOD / "csv_vendors.yaml")
    hub = s.vendors[1]
    assert hub.categories == ("electronics", "beauty") and hub.tags == ("cases", "chargers")
    assert hub.language == "fr" and hub.line == 3 and hub.file.endswith("vendors.csv")
    kigali = load_vendor_fixture(REPO / "fixtures/vendors/kigali.yaml")
    assert {"id", "name", "phone", "categories"} <= set(kigali[0])
    assert type(kigali[0]) is dict


def test_vendors_path_resolves_against_repo_root():
    s = load_scenario(GOOD / "fixture_from_repo_root.yaml")
    assert "gikondo_hardware" in {v.id for v in s.vendors}
    assert all(v.phone.startswith("+250") for v in s.vendors)


def test_bad_vendor_fixture_is_reported():
    with pytest.raises(ScenarioInvalid) as info:
        load_vendor_fixture(BAD / "top_level_text.yaml")
    assert "expected a list of vendor mappings" in info.value.problems[0].message


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "sub").mkdir()
    return tmp_path


def _image_scenario(folder: Path, image: str) -> Path:
    path = folder / "s.yaml"
    path.write_text(f"scenario: s\nclients: [{{id: a, phone: '0780000001'}}]\n"
                    f"steps:\n  - client: a\n    image: {image}\n", "utf-8")
    return path


def test_paths_resolve_next_to_the_scenario_first_then_repo_root(tmp_path):
    root = _project(tmp_path)
    (root / "x.png").write_bytes(b"root")
    scenario = _image_scenario(root / "sub", "x.png")
    assert load_scenario(scenario).steps[0].args["path"] == str((root / "x.png").resolve())
    (root / "sub" / "x.png").write_bytes(b"local")
    assert load_scenario(scenario).steps[0].args["path"] == str((root / "sub" / "x.png").resolve())


def test_media_must_be_png_jpeg_or_pdf(tmp_path):
    root = _project(tmp_path)
    (root / "sub" / "notes.txt").write_text("x")
    problems = problems_of(_image_scenario(root / "sub", "notes.txt"))
    assert "not a PNG, JPEG or PDF" in problems[0].message and problems[0].line == 5


def test_scaffold_templates_load(tmp_path, monkeypatch):
    from simulators.replay.templates import _BODIES, scaffold

    monkeypatch.chdir(REPO)
    for template in _BODIES:
        path = scaffold(f"t_{template.replace('-', '_')}", template, tmp_path)
        assert load_scenario(path).id.startswith("t_")


def test_flag_and_cap_values(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("scenario: f\nflags:\n  FEATURE_AI_CONCIERGE: \"False\"\n"
                    "  AI_CONCIERGE_ALLOWLIST_PHONES: \"\"\n  AI_CONCIERGE_PERCENT_ROLLOUT: \"50\"\n"
                    "caps: {target_s: 6m, min_replies: 2}\nsteps: [{advance: 1s}]\n")
    s = load_scenario(path)
    assert s.flags["FEATURE_AI_CONCIERGE"] == "False"  # raw: the runner parses flags
    assert s.caps == {"target_s": 360.0, "min_replies": 2}
    path.write_text("scenario: f\nflags: {FEATURE_AI_CONCIERGE_CALLING: 1}\ncaps: {min_replies: 2.5}\n"
                    "steps: [{advance: 1s}]\n")
    problems = problems_of(path)
    assert {p.key for p in problems} == {"flags.FEATURE_AI_CONCIERGE_CALLING", "caps.min_replies"}


def test_self_referencing_and_exploding_aliases_are_problems(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("scenario: a\nsteps:\n  - brain_next: &x [1, *x]\n")
    assert "refers to itself" in problems_of(path)[0].message
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        bomb.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path.write_text("scenario: a\nsteps:\n  - brain_next:\n" + "".join(f"      {b}\n" for b in bomb))
    assert "too large" in problems_of(path)[0].message


def test_non_string_keys_and_merge_keys(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text("scenario: k\n? [a, b]\n: 1\nsteps: [{advance: 1s}]\n")
    assert any("plain text" in p.message and p.line == 2 for p in problems_of(path))
    path.write_text("scenario: k\nbase: &b {text: hi}\nsteps: [{client: a, <<: *b}]\n")
    assert any(p.key == "base" for p in problems_of(path))  # unknown top key; merge itself works


# --- discovery ------------------------------------------------------------------------------------


def test_discover_finds_yaml_at_any_depth_sorted(tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for rel in ("z.yaml", "b/deep/a.yml", "b/c.yaml", "b/readme.md", ".hidden/x.yaml"):
        (tmp_path / rel).write_text("x")
    explicit = tmp_path / "b" / "c.yaml"
    found = discover([str(tmp_path), str(explicit)])
    assert found == sorted([tmp_path / "b/c.yaml", tmp_path / "b/deep/a.yml", tmp_path / "z.yaml"], key=str)


def test_discover_reports_every_missing_path(tmp_path):
    with pytest.raises(ScenarioInvalid) as info:
        discover([str(tmp_path / "nope1"), str(tmp_path), str(tmp_path / "nope2")])
    assert [p.file for p in info.value.problems] == [str(tmp_path / "nope1"), str(tmp_path / "nope2")]


# --- never anything but ScenarioInvalid -----------------------------------------------------------


def _load_never_crashes(path: Path) -> None:
    try:
        result = load_scenario(path)
    except ScenarioInvalid as exc:
        assert exc.problems
        for p in exc.problems:
            assert isinstance(p, Problem) and "(loader)" not in p.key, str(p)
            assert p.file == str(path) or not p.file.endswith(path.name)
    else:
        assert isinstance(result, Scenario)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "replace"))))
def test_arbitrary_bytes_only_raise_scenario_invalid(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.yaml"
    path.write_bytes(data)
    _load_never_crashes(path)


_WORDS = [*TOP_KEYS, *ACTIONS, "text", "image", "document", "button", "caption", "id", "note", "name",
          "phone", "categories", "area", "lat", "lng", "state", "states", "outreach", "count", "vendors",
          "order", "render", "items", "degrade", "target", "times", "FEATURE_AI_CONCIERGE",
          "AI_CONCIERGE_ALLOWLIST_PHONES", "AI_CONCIERGE_PERCENT_ROLLOUT", "max_batches", "target_s"]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**15), st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(["2m", "last", "alice", "pharma_plus", ">=3", "Kimironko", "+250780000001", "pharmacy",
                     "fixtures/images/prescription_clean_1.png", "handed_off", "prescription", "1h30m"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_WORDS), inner, max_size=5),
    max_leaves=25,
)
_DOCS = st.fixed_dictionaries(
    {"scenario": st.sampled_from(["ok_id", "Bad Id", 3]),
     "steps": st.lists(st.dictionaries(st.sampled_from(_WORDS), _VALUES, max_size=3), max_size=4)},
    optional={"vendors": _VALUES, "clients": _VALUES, "flags": _VALUES, "caps": _VALUES, "seed": _SCALARS,
              "tags": _VALUES},
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_DOCS)
def test_scenario_shaped_garbage_only_raises_scenario_invalid(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("shaped") / "s.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    _load_never_crashes(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 6), st.text(max_size=3)), max_size=4))
def test_damaged_good_file_only_raises_scenario_invalid(tmp_path_factory, cuts):
    text = (GOOD / "every_step_kind.yaml").read_text("utf-8")
    for at, drop, insert in cuts:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + drop:]
    folder = tmp_path_factory.mktemp("damaged")
    path = folder / "d.yaml"
    path.write_text(text, "utf-8", errors="replace")
    _load_never_crashes(path)


# --- Count ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, n, expected", [
    (3, 3, True), (3, 4, False), (0, 0, True), ("3", 3, True),
    (">=3", 3, True), (">=3", 2, False), ("<=5", 5, True), ("<=5", 6, False),
    (">0", 1, True), (">0", 0, False), ("<2", 1, True), ("<2", 2, False),
    ("==1", 1, True), ("==1", 2, False), ("!=0", 0, False), ("!=0", 7, True), (" >= 3 ", 3, True),
])
def test_count_matches(raw, n, expected):
    assert Count.parse(raw).matches(n) is expected


@pytest.mark.parametrize("raw", [True, False, 2.5, "", "three", ">=", "=>3", ">=-1", "3.0", None, [3], "> = 3"])
def test_count_rejects(raw):
    with pytest.raises(ValueError, match="expected a count"):
        Count.parse(raw)


def test_count_rejects_negative():
    with pytest.raises(ValueError, match="negative"):
        Count.parse(-1)


_OPS = {"==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@given(op=st.sampled_from(sorted(_OPS)), k=st.integers(0, 10**6), n=st.integers(0, 10**6))
def test_count_agrees_with_python_comparisons(op, k, n):
    count = Count.parse(f"{op}{k}")
    assert count.matches(n) is _OPS[op](n, k)
    assert Count.parse(str(count)) == count
    assert str(count) == (str(k) if op == "==" else f"{op}{k}")


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("4m", 240), ("1h", 3600), ("1h30m", 5400), ("500ms", 0.5), ("1.5m", 90),
    ("2d", 172800), ("1h 30m 15s", 5415), ("1m500ms", 60.5), (" 2M ", 120),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("value, message", [
    (90, "no unit"), ("90", "cannot read"), ("", "empty"), ("0s", "more than zero"), ("30m1h", "largest"),
    ("1m1m", "largest"), ("2 minutes", "cannot read"), ("-5s", "cannot read"), (None, "expected a duration"),
    (True, "expected a duration"), ("1e400s", "cannot read"), ("5x", "cannot read"),
])
def test_parse_duration_rejects(value, message):
    with pytest.raises(DurationError, match=message):
        parse_duration(value)


@given(ms=st.integers(1, 10**10))
def test_format_duration_round_trips(ms):
    text = format_duration(ms / 1000)
    assert parse_duration(text) == pytest.approx(ms / 1000)


@given(text=st.text(max_size=30))
def test_parse_duration_only_raises_duration_error(text):
    try:
        assert parse_duration(text) > 0
    except DurationError:
        pass
