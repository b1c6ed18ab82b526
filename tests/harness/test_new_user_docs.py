"""What a new user reads and copies works as written: one set-up, examples that run where the docs
put them, a JSON Schema equal to the loader's vocabulary, the places list equal to the gazetteer,
and a checkout that needs no file outside itself."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from concierge.geo import gazetteer
from simulators.commands.cli import main
from simulators.replay import generated_docs
from simulators.replay.loader import load_scenario
from simulators.replay.schema import PUBLISHED, scenario_schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")
GUIDE = (ROOT / "docs" / "writing-scenarios.md").read_text("utf-8")


def _block_after(text: str, heading: str, lang: str) -> str:
    """The first fenced ``lang`` block after the heading line matching ``heading``."""
    start = re.search(heading, text, re.M)
    assert start, f"no heading {heading!r}"
    block = re.search(rf"```{lang}\n(.*?)```", text[start.end():], re.S)
    assert block, f"no ```{lang} block after {heading!r}"
    return block.group(1)


def test_readme_and_guide_give_the_same_set_up_and_it_installs_the_command():
    readme = _block_after(README, r"^## Set up", "bash")
    guide = _block_after(GUIDE, r"^## 1\. Set up", "bash")
    assert readme == guide
    assert 'pip install -e ".[test]"' in readme and "concierge-sim --help" in readme
    assert ".nox" in README.split("## Set up", 1)[1].split("```", 1)[0]  # says why nox alone is not enough
    script = re.search(r'^concierge-sim = "([\w.]+):(\w+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert script and script.groups() == ("simulators.commands.cli", "main")


def _like_a_checkout(tmp_path: Path) -> Path:
    """A repository-shaped folder: the scenario resolves fixtures against its root, as in a clone."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    return tmp_path


def test_the_readme_example_runs_where_the_readme_says_to_save_it(tmp_path, monkeypatch, capsys):
    where = re.search(r"Save this as `([^`]+)`", README)
    assert where, "the README says where to save its example"
    root = _like_a_checkout(tmp_path)
    path = root / where.group(1)
    path.parent.mkdir(parents=True)
    path.write_text(_block_after(README, r"^## Writing a scenario", "yaml"))
    monkeypatch.chdir(root)
    assert main(["run", where.group(1), "--report-dir", str(tmp_path / "r")]) == 0, capsys.readouterr()
    schema_ref = re.search(r"\$schema=(\S+)", path.read_text()).group(1)
    assert (path.parent / schema_ref).resolve() == (ROOT / "docs" / "scenario.schema.json").resolve()


def test_every_relative_path_in_the_guide_resolves_from_the_folder_it_recommends(tmp_path):
    root = _like_a_checkout(tmp_path)
    folder = root / "scenarios" / "mine"
    folder.mkdir(parents=True)
    paths = re.findall(r"^\s*(?:vendors|document|image): ((?:\.\./)*fixtures/[\w/.-]+)", GUIDE, re.M)
    assert paths, "the guide shows fixture paths"
    for raw in paths:
        scenario = folder / "probe.yaml"
        scenario.write_text(
            f"scenario: probe\nvendors: {raw if raw.endswith('.yaml') else 'fixtures/vendors/kigali.yaml'}\n"
            "clients: [{id: alice, phone: '+250780000001'}]\n"
            f"steps:\n  - client: alice\n    {'document: ' + raw if not raw.endswith('.yaml') else 'text: hi'}\n")
        assert load_scenario(scenario).id == "probe", raw


def test_the_published_schema_is_the_one_the_vocabulary_generates():
    assert PUBLISHED.read_text("utf-8") == schema_text(), \
        "docs/scenario.schema.json is stale: run python -m simulators.replay.generated_docs"
    jsonschema.Draft7Validator.check_schema(scenario_schema())


def test_every_committed_scenario_satisfies_the_schema_and_a_typo_does_not():
    validator = jsonschema.Draft7Validator(json.loads(PUBLISHED.read_text("utf-8")))
    files = sorted((ROOT / "scenarios").rglob("*.yaml")) + sorted((ROOT / "tests" / "good_scenarios").rglob("*.yaml"))
    assert len(files) > 50
    for f in files:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(f.read_text("utf-8")))]
        assert not errors, f"{f}: {errors[:2]}"
    data = yaml.safe_load((ROOT / "scenarios/phase0/happy/pharmacy_text_happy_path.yaml").read_text())
    data["descripton"] = "typo"
    data["steps"][1]["expect"]["stat"] = "handed_off"
    data["steps"].append({"advance": "90"})  # a bare number: the loader refuses it too
    messages = " | ".join(e.message for e in validator.iter_errors(data))
    assert "'descripton' was unexpected" in messages and "'stat' was unexpected" in messages
    assert "does not match" in messages


def test_new_writes_the_schema_line_for_editors(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    folder = tmp_path / "scenarios" / "mine"
    assert main(["new", "editor_case", "--dir", str(folder)]) == 0
    first = (folder / "editor_case.yaml").read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (folder / first.split("=", 1)[1]).resolve() == PUBLISHED.resolve()


def test_the_places_the_docs_list_are_the_gazetteers():
    assert generated_docs.stale() == [], "run python -m simulators.replay.generated_docs"
    listed = re.search(r"\d+ places: ([^(]+)\(", GUIDE).group(1)
    assert [n.strip() for n in listed.split(",")] == [p.name for p in gazetteer()]


def test_a_stale_places_list_is_rewritten_from_the_data():
    stale = GUIDE.replace(", Nyamata", "") if ", Nyamata" in GUIDE else GUIDE.replace(", Kinyinya", "")
    assert stale != GUIDE and generated_docs.with_places(stale) == GUIDE


# The names are split so that this file does not refer to them itself.
OUTSIDE = ("../" + "shared", "DOMAIN" + ".md", "SCENARIO" + "_FORMAT", "rollout-runbook" + ".v1")


def test_no_tracked_file_refers_to_a_path_outside_the_repository():
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.fail("git ls-files failed: the check needs the git checkout")
    offenders = []
    for name in tracked:
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".jpg", ".jpeg", ".pdf", ".ttf", ".otf", ".gz"):
            continue
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            offenders += [f"{name}:{n}: {word}" for word in OUTSIDE if word in line]
    assert not offenders, "refers outside the checkout (use docs/domain.md, docs/scenario-format.md, " \
                          "docs/rollout-runbook.md):\n" + "\n".join(offenders)
