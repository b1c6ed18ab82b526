"""Is ``report.html`` quick to open for the whole Phase 0 suite? Its size, the time to write it, and
the time a headless Chromium takes to load and draw it.

``python bench/report_bench.py [--scenarios scenarios/phase0] [--runs 7] [--json OUT] [--keep DIR]``
runs the scenarios once, then, ``--runs`` times each: writes ``report.html`` from the results (the
page only: report.json, report.md and junit.xml are not timed), and opens it from disk in the
system Chromium (driven by Playwright; a fresh browser context each time, one browser for all), reading
the page's own Navigation Timing and Paint Timing entries: first contentful paint, DOMContentLoaded
and the load event. It also times one keystroke in the search box (the filter re-checks every
scenario's text). Figures are medians, because the machine is shared and noisy; never assert on them
in tests.

``CONCIERGE_SIM_CHROMIUM`` points at another Chromium (default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.html.run_report import write_run_report  # noqa: E402
from simulators.replay.loader import discover, load_scenario  # noqa: E402
from simulators.replay.reports import write_reports  # noqa: E402
from simulators.replay.runner import run_scenario  # noqa: E402

CHROMIUM = os.environ.get("CONCIERGE_SIM_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Read after two frames, so the first paint has happened and been recorded.
TIMING = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  done({fcp_ms: fcp ? fcp.startTime : null, dom_content_loaded_ms: nav.domContentLoadedEventEnd,
        load_ms: nav.loadEventEnd, nodes: document.getElementsByTagName("*").length});
})))"""
# One keystroke in the search box, to the next frame: what a person waits for while filtering.
SEARCH = """() => new Promise(done => {
  const box = document.getElementById("search");
  const t0 = performance.now();
  box.value = "zzz-no-such-text";
  box.dispatchEvent(new Event("input", {bubbles: true}));
  document.body.offsetHeight;  // force the layout the filter changed
  requestAnimationFrame(() => done(performance.now() - t0));
})"""


def page_figures(html: Path) -> dict[str, object]:
    data = html.read_bytes()
    text = data.decode("utf-8")
    uris = re.findall(r'src="(data:image/[^"]+)"', text)
    return {
        "bytes": len(data),
        "gzip_bytes": len(gzip.compress(data, 6)),
        "images": len(uris),
        "distinct_images": len(set(uris)),
        "image_bytes": sum(len(u) for u in uris),
        "bubbles": text.count('<div class="bubble '),
    }


def open_in_chromium(html: Path, runs: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    samples: list[dict[str, float]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for i in range(runs + 1):  # the first open warms the browser: not counted
                context = browser.new_context(viewport={"width": 1200, "height": 900})
                page = context.new_page()
                t0 = time.perf_counter()
                page.goto(html.resolve().as_uri(), wait_until="load")
                wall = (time.perf_counter() - t0) * 1000
                figures = page.evaluate(TIMING)
                figures["goto_wall_ms"] = wall
                figures["search_keystroke_ms"] = page.evaluate(SEARCH)
                context.close()
                if i:
                    samples.append(figures)
        finally:
            browser.close()
    out: dict[str, object] = {}
    for key in samples[0]:
        values = [s[key] for s in samples if s[key] is not None]
        if values:
            out[key] = round(statistics.median(values), 1)
        if len(values) < len(samples):  # headless Chromium does not always record a first paint
            out[f"{key}_missing"] = len(samples) - len(values)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="scenarios/phase0")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--keep", default=None, help="write the report folder here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        print(f"report_bench: no Chromium at {CHROMIUM} (apt-get install -y chromium, or set CONCIERGE_SIM_CHROMIUM)",
              file=sys.stderr)
        return 2
    scenarios = [load_scenario(p) for p in discover([args.scenarios])]
    results = [run_scenario(s) for s in scenarios]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep or tmp)
        report = write_reports(out, results, seed=None, page=write_run_report)  # the page as `run` writes it, plus its JSON
        write_times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            html = write_run_report(out, report, results)
            write_times.append((time.perf_counter() - t0) * 1000)
        result = {
            "scenarios": len(scenarios),
            "runs": args.runs,
            "page": page_figures(html),
            "write_ms_median": round(statistics.median(write_times), 1),
            "chromium": open_in_chromium(html, args.runs),
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:  # for docs/performance.md, and to compare two commits
        Path(args.json_out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
