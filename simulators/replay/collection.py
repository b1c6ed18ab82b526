"""What a folder walk collects as a scenario, for the CLI and the pytest plugin alike.

Vendor fixtures and other data files sit in YAML too, and a user puts them next to their
scenarios; loading them as scenarios would block the whole run with errors about files that were
never meant to run. So in a folder a ``.yaml``/``.yml`` file is a scenario unless it is readable
YAML whose top level plainly is something else: a list (a vendor fixture), or a mapping with
neither a ``scenario:`` nor a ``steps:`` key (``{vendors: [...]}``, a world's parameters). A file
that cannot be read as YAML, is empty, or has only one of the two keys is still collected, so a
broken scenario is reported rather than silently skipped. A file named on the command line is
always loaded as a scenario: the user asked for it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

SCENARIO_KEYS = ("scenario", "steps")
SUFFIXES = (".yaml", ".yml")
NOT_A_SCENARIO = ("not a scenario (no top-level `scenario:` or `steps:` key); skipped. Vendor fixtures "
                  "and other data belong in fixtures/ (see docs/scenario-format.md, \"What is collected\")")


def is_scenario_file(path: Path) -> bool:
    """Whether a YAML file found in a folder is collected as a scenario (see the module's rule)."""
    if path.suffix not in SUFFIXES:
        return False
    try:
        text = path.read_text("utf-8-sig")
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # nodes only: no alias is expanded
    except (OSError, ValueError, yaml.YAMLError, RecursionError):
        return True  # unreadable: collected, so the loader says what is wrong with it
    if isinstance(node, yaml.SequenceNode):
        return False
    if isinstance(node, yaml.MappingNode):
        return any(isinstance(k, yaml.ScalarNode) and k.value in SCENARIO_KEYS for k, _ in node.value)
    return True  # empty, or a bare scalar: a scenario gone wrong, which the loader explains
