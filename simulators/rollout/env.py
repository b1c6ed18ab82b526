"""The runbook's configuration blocks (``KEY=value  # comment``) and its phase settings.

A runbook block is bash: a ``#`` starts a comment only at the start of a word, values may be quoted,
``export`` may precede a key, and an empty value (``AI_CONCIERGE_ALLOWLIST_PHONES=``) is a value.
Markdown fences are skipped so a block pasted with its fence still reads. What the concierge does
with the values (unparsable boolean -> false, unset percent -> 100) is ``concierge.flags``'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from concierge.flags import Flags
from concierge.policy import PHASE2_CAPS, Caps

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "envs"


class EnvFileInvalid(ValueError):
    """A line that is neither a comment, blank, a fence nor ``KEY=value``; names file and line."""


def _strip_comment(value: str) -> str:
    out, quote = [], None
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = None
            out.append(ch)
            continue
        if ch in ("'", '"'):
            quote = ch
        elif ch == "#" and (i == 0 or value[i - 1].isspace()):
            break
        out.append(ch)
    return "".join(out).strip()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


def parse_env_text(text: str, source: str = "<env>") -> dict[str, str]:
    env: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("```"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise EnvFileInvalid(f"{source}:{lineno}: expected KEY=value, got {raw.strip()[:60]!r}")
        env[key] = _unquote(_strip_comment(value))
    return env


def load_env_file(path: str | Path) -> dict[str, str]:
    p = Path(path)
    text = p.read_text("utf-8")
    try:
        return parse_env_text(text, str(p))
    except EnvFileInvalid as exc:
        # The likeliest slip is passing the whole runbook; say what to pass instead.
        if p.suffix.lower() in (".md", ".markdown") or re.search(r"^#+ ", text, re.M):
            raise EnvFileInvalid(
                f"{exc}; this looks like a Markdown document: --env takes one configuration block "
                f"(KEY=value lines, e.g. fixtures/envs/phase2.env), and --profile phase1|phase2|phase3 "
                f"already loads the runbook's block for that phase") from None
        raise


@dataclass(frozen=True)
class Profile:
    """One phase of the runbook: its configuration block and its constraints."""

    name: str
    env: dict[str, str]
    caps: Caps = field(default_factory=Caps)
    max_pilot_users: int | None = None  # Phase 2: "Maximum 50 users in pilot"

    @property
    def flags(self) -> Flags:
        return Flags.from_mapping(self.env)


def profile(name: str | None, env_file: str | Path | None = None,
            overrides: dict[str, str] | None = None) -> Profile:
    """The phase's settings; an ``--env`` file overrides the phase's own block key by key, and
    ``overrides`` (a sweep point's block, already read) override both."""
    env: dict[str, str] = {}
    caps, max_users = Caps(), None
    if name is not None:
        if name not in ("phase1", "phase2", "phase3"):
            raise ValueError(f"unknown profile {name!r}; expected phase1, phase2 or phase3")
        env = load_env_file(ENV_DIR / f"{name}.env")
        if name == "phase2":
            caps, max_users = PHASE2_CAPS, 50
    if env_file is not None:
        env = {**env, **load_env_file(env_file)}
    if overrides:
        env = {**env, **overrides}
    return Profile(name or "custom", env, caps, max_users)
