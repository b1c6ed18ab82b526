"""A sweep's spec file: simulate's options for every point, the values swept, and the seeds.

```yaml
base: {clients: 120, vendors: 30, hours: 2, profile: phase3}   # simulate's options, every point
seeds: [1, 2]
grid:                       # every combination (or ``points:``, an explicit list of them)
  params: {brain_batch_size: [3, 4, 5], reply_prob: [[0.2, 0.4], [0.55, 0.95]]}
  env: {AI_CONCIERGE_PERCENT_ROLLOUT: [25, 100]}
plot: {x: params.reply_prob}
```

The file is checked whole before anything runs: its shape by JSON Schema (``SPEC_SCHEMA``), then
every world parameter by ``WorldParams.with_overrides`` and every size by ``size_problem``, the
checks ``simulate --params`` and ``simulate`` itself make. A mistake is one ``SpecError`` line naming
the file and the key. Each point is then a ``simulate`` run: ``Point.command`` is the command that
gives the same metrics, with the point's ``--params``/``--env`` files the sweep writes beside its
table.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from concierge.contracts import Check

from .env import Profile, profile
from .population import WorldParams
from .run_config import RunConfig, size_problem

RUN_OPTIONS: dict[str, dict[str, Any]] = {
    "clients": {"type": "integer", "minimum": 1},
    "vendors": {"type": "integer", "minimum": 1},
    "hours": {"type": "number", "exclusiveMinimum": 0},
    "profile": {"enum": ["phase1", "phase2", "phase3", None]},
    "shards": {"type": "integer", "minimum": 1},
    "ocr": {"enum": ["model", "tesseract"]},
    "invariants": {"type": "boolean"},
}
REQUIRED = ("clients", "vendors", "hours")
ENV_KEY = "^[A-Za-z_][A-Za-z0-9_]*$"
# A value written into a point's env file as KEY=value must read back the same: no spaces, quotes or #.
ENV_VALUE = {"type": ["string", "integer", "number", "boolean"], "pattern": "^[^\\s#'\"]*$"}
_PARAM_NAMES = [f.name for f in fields(WorldParams)]
_PARAMS = {"type": "object", "additionalProperties": False, "properties": {n: {} for n in _PARAM_NAMES}}
_ENV = {"type": "object", "propertyNames": {"pattern": ENV_KEY}, "additionalProperties": ENV_VALUE}


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": item}


_ONE_POINT = {"type": "object", "additionalProperties": False,
              "properties": {**RUN_OPTIONS, "params": _PARAMS, "env": _ENV}}
SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["seeds"],
    "properties": {
        "base": _ONE_POINT,
        "seeds": {"type": "array", "minItems": 1, "uniqueItems": True,
                  "items": {"type": "integer", "minimum": 0}},
        "grid": {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
            **{k: _listed(v) for k, v in RUN_OPTIONS.items()},
            "params": {"type": "object", "additionalProperties": False, "minProperties": 1,
                       "properties": {n: {"type": "array", "minItems": 1} for n in _PARAM_NAMES}},
            "env": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": ENV_KEY},
                    "additionalProperties": _listed(ENV_VALUE)},
        }},
        "points": {"type": "array", "minItems": 1, "items": _ONE_POINT},
        "plot": {"type": "object", "additionalProperties": False, "properties": {"x": {"type": "string"}}},
    },
}
_CHECK = Check(SPEC_SCHEMA)


class SpecError(ValueError):
    """A spec that cannot run: one line, naming the file and the key (exit 2)."""


@dataclass(frozen=True)
class PointConfig(RunConfig):
    """A point's run: ``RunConfig`` carrying its env block itself, so that a worker on another machine
    needs no file of ours to read its flags."""

    env_block: tuple[tuple[str, str], ...] = ()

    def settings(self) -> Profile:
        return profile(self.profile, None, dict(self.env_block))


@dataclass(frozen=True)
class Point:
    id: str
    seed: int
    values: dict[str, Any]  # the swept keys ("clients", "params.reply_prob", "env.KEY") and their values
    options: dict[str, Any]  # simulate's options for this point
    params: dict[str, Any] = field(default_factory=dict)  # world parameter overrides, as in the spec
    env: dict[str, str] = field(default_factory=dict)  # env overrides, as written in the point's file

    @property
    def params_file(self) -> str:
        return f"{self.id}.params.yaml"

    @property
    def env_file(self) -> str:
        return f"{self.id}.env"

    def config(self) -> PointConfig:
        o = self.options
        return PointConfig(clients=o["clients"], vendors=o["vendors"], hours=o["hours"], seed=self.seed,
                           profile=o.get("profile"), params=WorldParams.with_overrides(self.params),
                           shards=o.get("shards") or 1, ocr=o.get("ocr", "model"),
                           invariants=bool(o.get("invariants")),
                           env_block=tuple(sorted(self.env.items())))

    def files(self) -> dict[str, str]:
        """The point's ``--params`` and ``--env`` files (only those it needs), by name."""
        out = {}
        if self.params:
            out[self.params_file] = yaml.safe_dump(self.params, sort_keys=True, default_flow_style=None)
        if self.env:
            out[self.env_file] = "".join(f"{k}={v}\n" for k, v in sorted(self.env.items()))
        return out

    def command(self, folder: str | Path) -> list[str]:
        """The ``simulate`` command whose metrics.json equals this point's metrics."""
        o = self.options
        cmd = ["concierge-sim", "simulate", "--clients", str(o["clients"]), "--vendors", str(o["vendors"]),
               "--hours", str(o["hours"]), "--seed", str(self.seed)]
        if o.get("profile"):
            cmd += ["--profile", o["profile"]]
        if self.params:
            cmd += ["--params", str(Path(folder) / self.params_file)]
        if self.env:
            cmd += ["--env", str(Path(folder) / self.env_file)]
        if o.get("shards"):
            cmd += ["--shards", str(o["shards"])]
        if o.get("ocr", "model") != "model":
            cmd += ["--ocr", o["ocr"]]
        if o.get("invariants"):
            cmd.append("--invariants")
        return [*cmd, "--out", f"runs/{self.id}"]


@dataclass(frozen=True)
class Spec:
    path: str
    points: list[Point]
    swept: list[str]  # the swept keys, in the spec's order
    x: str | None  # the key the plots put on their x axis

    @property
    def runs(self) -> int:
        return len(self.points)


def env_text(value: Any) -> str:
    """A spec's env value as the runbook block writes it (``true``/``false``, numbers as typed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_spec(path: str | Path) -> Spec:
    """The spec at ``path``, checked whole, with its points expanded; ``SpecError`` otherwise."""
    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise SpecError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SpecError(f"{where}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{where}{line}: not YAML ({getattr(exc, 'problem', None) or exc})") from None
    error = _CHECK.first_error(data)
    if error:
        raise SpecError(f"{where}: {error}")
    if ("grid" in data) == ("points" in data):
        raise SpecError(f"{where}: (top level): give either grid (every combination) or points (a list), "
                        "not " + ("both" if "grid" in data else "neither"))
    base = data.get("base") or {}
    _check_params(where, "base.params", base.get("params") or {})
    combos, swept = _combinations(where, data)
    points = []
    for values in combos:
        for seed in data["seeds"]:
            points.append(_point(where, f"p{len(points) + 1:03d}", seed, base, values))
    x = (data.get("plot") or {}).get("x") or (swept[0] if swept else None)
    if x is not None and x not in swept:
        raise SpecError(f"{where}: plot.x: {x!r} is not a swept key (swept: {', '.join(swept) or 'none'})")
    return Spec(where, points, swept, x)


def _check_params(where: str, key: str, params: dict[str, Any]) -> None:
    for name, value in params.items():
        _check_param(where, f"{key}.{name}", name, value)


def _check_param(where: str, key: str, name: str, value: Any) -> None:
    """One world parameter, checked as ``simulate --params`` checks it."""
    try:
        WorldParams.with_overrides({name: value})
    except ValueError as exc:
        message = str(exc)
        message = message[len(name) + 2:] if message.startswith(f"{name}: ") else message
        raise SpecError(f"{where}: {key}: {message}") from None


def _combinations(where: str, data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each point's swept values (flat keys), and the swept keys in the spec's order."""
    if "points" in data:
        swept: list[str] = []
        combos = []
        for i, point in enumerate(data["points"]):
            _check_params(where, f"points[{i}].params", point.get("params") or {})
            flat = _flat(point)
            swept += [k for k in flat if k not in swept]
            combos.append(flat)
        return combos, swept
    grid = data["grid"]
    axes: list[tuple[str, list[Any]]] = []
    for key, values in grid.items():
        if key == "params":
            for name, options in values.items():
                for i, option in enumerate(options):
                    _check_param(where, f"grid.params.{name}[{i}]", name, option)
                axes.append((f"params.{name}", options))
        elif key == "env":
            axes += [(f"env.{name}", options) for name, options in values.items()]
        else:
            axes.append((key, values))
    keys = [k for k, _ in axes]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))], keys


def _flat(point: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in point.items() if k not in ("params", "env")}
    flat.update({f"params.{k}": v for k, v in (point.get("params") or {}).items()})
    flat.update({f"env.{k}": v for k, v in (point.get("env") or {}).items()})
    return flat


def _point(where: str, pid: str, seed: int, base: dict[str, Any], values: dict[str, Any]) -> Point:
    options = {k: v for k, v in base.items() if k not in ("params", "env")}
    params = dict(base.get("params") or {})
    env = {k: env_text(v) for k, v in (base.get("env") or {}).items()}
    for key, value in values.items():
        if key.startswith("params."):
            params[key[len("params."):]] = value
        elif key.startswith("env."):
            env[key[len("env."):]] = env_text(value)
        else:
            options[key] = value
    missing = [k for k in REQUIRED if k not in options]
    if missing:
        raise SpecError(f"{where}: base.{missing[0]}: missing (give it in base, or sweep it in grid or "
                        "every point)")
    problem = size_problem(options["clients"], options["vendors"], options["hours"], options.get("shards"))
    if problem:
        raise SpecError(f"{where}: point {pid} ({label(values) or 'base'}): {problem}")
    return Point(pid, seed, values, options, params, env)


def label(values: dict[str, Any]) -> str:
    """``brain_batch_size=3, AI_CONCIERGE_PERCENT_ROLLOUT=25``: a combination, for a legend or a line."""
    return ", ".join(f"{re.sub(r'^(params|env)[.]', '', k)}={v}" for k, v in values.items())
