"""The Jinja environment every page renders with, and the one way a page reaches the disk.

Autoescape is on for every template: message texts come from clients and vendors, and a vendor who
writes ``<script>`` must read as text in the report, never run in the reviewer's browser.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

TEMPLATES = Path(__file__).resolve().parent / "templates"
_LINK = re.compile(r"https?://[^\s<>\"']+")


class ReportDirError(Exception):
    """A report folder that cannot be created or written: an environment problem (exit 3)."""


def linkify(text: str) -> Markup:
    """Escaped text with its http(s) links (the shortlist's wa.me links) made clickable."""
    out, last = [], 0
    for m in _LINK.finditer(text):
        url = m.group(0).rstrip(".,);")
        out.append(escape(text[last:m.start()]))
        out.append(Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>').format(url))
        last = m.start() + len(url)
    out.append(escape(text[last:]))
    return Markup("").join(out)


def to_json_script(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block: ``<`` is escaped, so no text inside
    can close the script element."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@lru_cache(maxsize=1)
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["linkify"] = linkify
    env.filters["json_script"] = to_json_script
    env.filters["pretty"] = lambda v, limit=20000: _pretty(v, limit)
    env.globals["inline"] = lambda name: Markup((TEMPLATES / name).read_text("utf-8"))
    return env


def _pretty(value: Any, limit: int) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit:,} more characters in report.json)"


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def write_page(path: str | Path, template: str, **context: Any) -> Path:
    return write_text(Path(path), render(template, **context))


def write_text(target: Path, text: str) -> Path:
    """The page (or the data it shows) on disk, or ``ReportDirError`` with the one line the user sees."""
    try:
        target.write_text(text, "utf-8")
    except OSError as exc:  # a full disk, a file-size limit: named as the user will look for it
        from ..harness_errors import cause
        from ..outputs import published

        raise ReportDirError(f"cannot write {target.name} in {published(target.parent)}: {cause(exc)}") from None
    return target
