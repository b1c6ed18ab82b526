"""The parts of ``docs/`` written from data, so the docs cannot drift from it: the scenario JSON
Schema (from the loader's vocabulary) and the list of places a scenario may name (from the
gazetteer). ``python -m simulators.replay.generated_docs`` rewrites them; ``--check`` (and a test)
fails when a committed copy differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from concierge.geo import gazetteer

from .schema import PUBLISHED, schema_text

DOCS = PUBLISHED.parent
PLACES_BEGIN, PLACES_END = "<!-- places: generated from concierge/data/gazetteer.json -->", "<!-- /places -->"
PLACES_PAGES = ("writing-scenarios.md", "scenario-format.md")
_BLOCK = re.compile(re.escape(PLACES_BEGIN) + r".*?" + re.escape(PLACES_END), re.S)


def places_block() -> str:
    names = [p.name for p in gazetteer()]
    return (f"{PLACES_BEGIN}\n{len(names)} places: " + ", ".join(names)
            + f" (aliases such as {_aliases_example()} also match)\n{PLACES_END}")


def _aliases_example() -> str:
    with_alias = [p for p in gazetteer() if p.aliases]
    return ", ".join(f"`{p.aliases[0]}`" for p in with_alias[:3]) or "none"


def with_places(text: str) -> str:
    return _BLOCK.sub(lambda _: places_block(), text)


def expected_files() -> dict[Path, str]:
    """Each generated file, or page with a generated block, and the text it must have."""
    out = {PUBLISHED: schema_text()}
    for page in PLACES_PAGES:
        path = DOCS / page
        if path.exists():
            out[path] = with_places(path.read_text("utf-8"))
    return out


def stale() -> list[Path]:
    return [p for p, text in expected_files().items()
            if not p.exists() or p.read_text("utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        bad = stale()
        for p in bad:
            print(f"{p}: out of date; run python -m simulators.replay.generated_docs", file=sys.stderr)
        return 1 if bad else 0
    for path, text in expected_files().items():
        if not path.exists() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
