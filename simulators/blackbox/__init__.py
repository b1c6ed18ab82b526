"""Scenarios run black-box against any concierge over HTTP (docs/black-box.md).

The same scenario files, the same step player (``replay.runner.ScenarioPlay``), the same
expectation checks and invariants; only the world differs: the Cloud API emulator served on a
loopback port stands for WhatsApp, and the concierge is a process the harness reaches over HTTP.

- ``hosted_emulator``: the emulator in this process, on a free port, its clock the harness's;
- ``target``: the concierge under test: a URL, or a command the harness starts, kills and restarts;
- ``probe_client``: the harness probe (docs/probe.openapi.yaml), when the target serves it;
- ``wire_world``: the world ``ScenarioPlay`` drives, over HTTP; what the checks read, from the wire
  and the probe;
- ``judging``: what can be judged from the wire alone, what needs the probe, and why;
- ``run``: a run of scenarios against one target, and its verdicts.
"""
