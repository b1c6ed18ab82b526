"""The CPU split bench attributes each moment to exactly one zone (bench/rollout_split.py)."""

import importlib.util
import itertools
from pathlib import Path

_path = Path(__file__).resolve().parents[2] / "bench" / "rollout_split.py"
_spec = importlib.util.spec_from_file_location("rollout_split", _path)
split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(split)


def test_nested_zones_are_exclusive_and_add_up(monkeypatch):
    ticks = itertools.count()
    monkeypatch.setattr(split.time, "process_time", lambda: float(next(ticks)))
    zones = split.Zones()

    def world_call():  # a send during which the fake delivers a webhook back to the concierge
        return concierge_entry_nested()

    concierge_entry_nested = zones.wrap("concierge", lambda: "inner")
    outer = zones.wrap("concierge", zones.wrap("world", world_call))

    assert outer() == "inner"
    # clock reads: 0 enter concierge, 1 enter world, 2 enter concierge (nested), 3 leave it,
    # 4 leave world, 5 leave outer concierge
    assert zones.spent == {"concierge": 1.0 + 1.0 + 1.0, "world": 1.0 + 1.0}
    assert not zones.stack


def test_world_port_times_methods_and_passes_attributes_through(monkeypatch):
    ticks = itertools.count()
    monkeypatch.setattr(split.time, "process_time", lambda: float(next(ticks)))
    zones = split.Zones()

    class Port:
        name = "transport"

        def send(self, x):
            return x * 2

    port = split.WorldPort(Port(), zones)
    assert port.name == "transport"
    assert port.send(21) == 42
    assert zones.spent["world"] == 1.0 and zones.spent["concierge"] == 0.0
