"""The harness's side of the probe (docs/probe.openapi.yaml): what the target says it can do, and
the calls. A target without it (404 at ``/probe/v1``) is judged from the wire alone."""

from __future__ import annotations

from typing import Any

import httpx

PROBE_VERSION = 1
SECRET_HEADER = "X-Probe-Secret"
BASE = "/probe/v1"


class ProbeUnavailable(RuntimeError):
    pass


class ProbeClient:
    def __init__(self, base_url: str, secret: str):
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=60.0,
                                 headers={SECRET_HEADER: secret})
        self.capabilities: frozenset[str] = frozenset()

    def discover(self) -> frozenset[str]:
        """The capabilities of a version-1 probe; empty when the target has none. (Revision 1.1 added
        ``ocr`` and ``seed``; a target without them keeps the scenarios needing them not runnable.
        Revision 1.2 added ``settle``; without it the harness makes the same observations with the
        revision-1.0 calls, a few more round trips per step.)"""
        try:
            answer = self.http.get(BASE)
        except httpx.TransportError as exc:
            raise ProbeUnavailable(f"no probe: {exc}") from None
        if answer.status_code == 404:
            return frozenset()
        if answer.status_code == 401:
            raise ProbeUnavailable("the target refused the probe secret (HTTP 401): check --probe-secret")
        body = answer.json()
        if body.get("version") != PROBE_VERSION:
            raise ProbeUnavailable(f"the target's probe is version {body.get('version')!r}; "
                                   f"this harness speaks version {PROBE_VERSION}")
        self.capabilities = frozenset(body.get("capabilities") or ())
        return self.capabilities

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, BASE + path, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"probe {method} {path}: HTTP {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def reset(self, scenario_config: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/reset", json=scenario_config)

    def set_clock(self, now: float) -> dict[str, Any]:
        return self._call("POST", "/clock", json={"now": now})

    def activity(self, wait: float = 0.0) -> dict[str, Any]:
        """The target's activity; ``wait``: answered once it has settled (or after that long)."""
        return self._call("GET", "/activity", params={"wait": wait} if wait else None)

    def settle(self, *, wait: float, now: float | None = None,
               ledger: dict[str, str] | None = None) -> dict[str, Any]:
        """Revision 1.2 (capability ``settle``): the clock moved to ``now`` (if given), the activity
        once settled or after ``wait`` seconds and, with ``ledger`` (table to digest, as last
        answered), ``{"digests", "tables"}``: only the tables whose digest changed."""
        body: dict[str, Any] = {"wait": wait}
        if now is not None:
            body["now"] = now
        if ledger is not None:
            body["ledger"] = ledger
        return self._call("POST", "/settle", json=body)

    def ledger_tables(self) -> dict[str, list[dict[str, Any]]]:
        return self._call("GET", "/ledger")["tables"]

    def brain(self, **body: Any) -> dict[str, Any]:
        return self._call("POST", "/brain", json=body)

    def ocr(self, **body: Any) -> dict[str, Any]:
        """The OCR engine's next reading (``reading=``) or failures (``fault=``, ``times=``)."""
        return self._call("POST", "/ocr", json=body)

    def seed(self, **body: Any) -> dict[str, Any]:
        """A request seeded as a scenario's ``initial_state:`` says; ``problems``: what could not be."""
        return self._call("POST", "/seed", json=body)

    def close(self) -> None:
        self.http.close()
