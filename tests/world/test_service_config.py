"""The service's start-up: settings from the environment under the runbook's names (a missing
secret is one line naming it, exit 2), flags off unless set, and the scaled service clock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from concierge.flags import FLAG_AI, FLAG_CALLING, FLAG_OCR
from service.clock import ServiceClock
from service.config import REQUIRED, ConfigError, ServiceConfig
from simulators.commands.cli import main

ENV = {"WHATSAPP_API_URL": "http://127.0.0.1:9", "WHATSAPP_ACCESS_TOKEN": "t",
       "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_PHONE_NUMBER_ID": "1"}


def _config(env):
    return ServiceConfig.from_env(env, db_path=":memory:", vendors_path="fixtures/vendors/kigali.yaml")


@pytest.mark.parametrize("name", [name for name, _ in REQUIRED])
def test_each_missing_secret_is_named_and_exits_2(name, monkeypatch, tmp_path, capsys):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(name, "  ")  # blank counts as missing
    assert main(["concierge", "--db", str(tmp_path / "l.sqlite"), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"missing environment variable {name}" in err[0]
    assert not (tmp_path / "l.sqlite").exists()  # nothing was started or created


def test_the_process_prints_one_line_and_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATSAPP_")}
    env.update({k: v for k, v in ENV.items() if k != "WHATSAPP_APP_SECRET"})
    done = subprocess.run([sys.executable, "-m", "service", "--db", str(tmp_path / "l.sqlite")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == ("concierge-sim concierge: missing environment variable WHATSAPP_APP_SECRET "
                                   "(the app secret that signs Meta's webhooks (X-Hub-Signature-256))")


def test_bad_vendor_file_and_missing_db_folder_are_usage_errors(monkeypatch, tmp_path, capsys):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    assert main(["concierge", "--db", str(tmp_path / "no" / "l.sqlite")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "vendors.yaml"
    bad.write_text("- {id: x}\n")  # no name, no phone
    assert main(["concierge", "--db", str(tmp_path / "l.sqlite"), "--vendors", str(bad)]) == 2
    assert f"--vendors {bad}: not a vendor fixture file" in capsys.readouterr().err
    assert main(["concierge", "--db", str(tmp_path / "l.sqlite"), "--vendors", str(tmp_path / "none.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_flags_default_off_and_read_the_runbook_names():
    assert not _config(ENV).flags.ai and not _config(ENV).flags.ocr and not _config(ENV).flags.calling
    flags = _config({**ENV, FLAG_AI: "true", FLAG_OCR: "1", FLAG_CALLING: "yes",
                     "AI_CONCIERGE_ALLOWLIST_PHONES": "+250780000001",
                     "AI_CONCIERGE_PERCENT_ROLLOUT": "0"}).flags
    assert flags.ai and flags.ocr and flags.calling and flags.percent == 0
    assert flags.in_ai_cohort("+250780000001") and not flags.in_ai_cohort("+250780000002")


def test_api_url_and_time_scale_are_checked():
    with pytest.raises(ConfigError, match="WHATSAPP_API_URL"):
        _config({**ENV, "WHATSAPP_API_URL": "graph.facebook.com"})
    with pytest.raises(ConfigError, match="time-scale"):
        ServiceConfig.from_env(ENV, db_path=":memory:", vendors_path="v", time_scale=0)


def test_scaled_clock_continues_one_timeline_across_restarts():
    wall = [1000.0]
    first = ServiceClock(scale=60, origin=1000.0, wall=lambda: wall[0])
    wall[0] = 1002.0
    assert first.now() == 1000.0 + 120.0
    assert first.wall_seconds_until(1000.0 + 180.0) == pytest.approx(1.0)
    restarted = ServiceClock(scale=60, origin=1000.0, wall=lambda: wall[0])  # same origin given again
    assert restarted.now() == first.now()
    assert ServiceClock(wall=lambda: 5.0).now() == 5.0  # unscaled: the wall clock itself


def test_send_timeout_is_read_and_checked():
    base = {"WHATSAPP_API_URL": "http://127.0.0.1:9", "WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_APP_SECRET": "s",
            "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_PHONE_NUMBER_ID": "1"}
    assert ServiceConfig.from_env(base, db_path="x", vendors_path="y").send_timeout_s == 10.0
    assert ServiceConfig.from_env({**base, "WHATSAPP_SEND_TIMEOUT_S": "2.5"}, db_path="x",
                                  vendors_path="y").send_timeout_s == 2.5
    for bad in ("0", "-1", "soon", "500"):
        with pytest.raises(ConfigError, match="WHATSAPP_SEND_TIMEOUT_S"):
            ServiceConfig.from_env({**base, "WHATSAPP_SEND_TIMEOUT_S": bad}, db_path="x", vendors_path="y")
