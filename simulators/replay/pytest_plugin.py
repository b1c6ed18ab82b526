"""pytest plugin: scenario files under a ``scenarios/`` folder become test items.

Registered through the ``pytest11`` entry point, so ``pytest scenarios/ -k dedupe -x -n auto`` works
like any test run. Files are validated at collection (an invalid file is a collection error naming
file, line and key); a failing item shows the scenario's own YAML lines around the failing step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def _is_scenario_file(path: Path) -> bool:
    from .collection import is_scenario_file  # the same rule as the CLI's folder walk

    return path.suffix in (".yaml", ".yml") and "scenarios" in path.parts and is_scenario_file(path)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if _is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioInvalidError(Exception):
    pass


class ScenarioFile(pytest.File):
    def collect(self):
        from .loader import load_scenario
        from .model import ScenarioInvalid

        try:
            scenario = load_scenario(self.path)
        except ScenarioInvalid as exc:
            raise self.CollectError("\n".join(str(p) for p in exc.problems)) from None
        yield ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)


class ScenarioOutcome(Exception):
    def __init__(self, result: Any):
        super().__init__(result.failure.message if result.failure else result.error)
        self.result = result


class ScenarioFailed(ScenarioOutcome):
    pass


class ScenarioErrored(ScenarioOutcome):
    """Not a ScenarioFailed: an `xfail:` does not excuse a harness error."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.scenario = scenario
        known = {line.split(":", 1)[0].strip() for line in self.config.getini("markers")}
        for tag in scenario.tags:
            if tag not in known:  # any tag a scenario author invents is a valid marker (-m TAG)
                self.config.addinivalue_line("markers", f"{tag}: scenario tag")
            self.add_marker(tag)
        if scenario.skip:
            self.add_marker(pytest.mark.skip(reason=scenario.skip))
        if scenario.xfail:  # a pass is reported XPASS, not a failure (pytest's non-strict xfail)
            self.add_marker(pytest.mark.xfail(reason=scenario.xfail, raises=ScenarioFailed, strict=False))

    def runtest(self) -> None:
        from .runner import run_scenario

        seed = self.config.getoption("concierge_seed", None)
        result = run_scenario(self.scenario, seed=seed)
        if result.verdict == "error":
            raise ScenarioErrored(result)
        if result.verdict in ("fail", "xfail"):  # pytest's xfail marker judges the expected failure
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if not isinstance(excinfo.value, ScenarioOutcome):
            return super().repr_failure(excinfo)
        result = excinfo.value.result
        file = str(self.scenario.file)
        if result.verdict == "error":
            return f"harness error in {file} ({self.scenario.id}):\n{result.traceback}"
        failure = result.failure
        lines = [failure.headline(file), ""]
        source = self.scenario.source_lines
        lo, hi = max(1, failure.line - 3), min(len(source), failure.line + 3)
        for n in range(lo, hi + 1):
            marker = ">" if n == failure.line else " "
            lines.append(f"{marker}{n:5d} | {source[n - 1]}")
        lines += ["", "last messages:"]
        lines += [f"  {t['at']} {t['from']} -> {t['to']}: {t['text'][:160]!r}" for t in result.transcript[-8:]]
        lines += ["", f"rerun: concierge-sim run {file} -k {self.scenario.id}"]
        return "\n".join(lines)

    def reportinfo(self):
        return self.path, 0, f"scenario: {self.scenario.id}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("concierge-sim")
    group.addoption("--concierge-seed", dest="concierge_seed", type=int, default=None,
                    help="override the seed of every scenario")


def pytest_configure(config: pytest.Config) -> None:
    for tag in ("phase0", "dedupe", "stop", "shortlist", "contracts", "security", "ocr", "calling",
                "faults", "happy_path"):
        config.addinivalue_line("markers", f"{tag}: scenario tag")
