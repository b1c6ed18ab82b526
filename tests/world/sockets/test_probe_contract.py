"""The harness probe of our service against its contract, docs/probe.openapi.yaml.

The document is a valid OpenAPI 3.1 document; every answer of the running service (a real process
on loopback) validates against the schema the document gives for it; the probe is absent (404)
unless the service is started with --probe, and refuses (401) any request without its secret.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[3]
DOC = yaml.safe_load((ROOT / "docs/probe.openapi.yaml").read_text("utf-8"))
SECRET = "probe-secret-for-the-contract-test"
START = 1_772_431_200.0  # 2026-03-02 06:00 UTC, the scenarios' start


def schema_of(path: str, method: str, status: int) -> dict:
    answer = DOC["paths"][path][method]["responses"][str(status)]
    if "$ref" in answer:
        answer = DOC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"]["application/json"]["schema"]


def check(answer: httpx.Response, path: str, method: str = "get") -> dict:
    """The answer's body validates against the document's schema for its status."""
    body = answer.json()
    schema = {**DOC, **schema_of(path, method, answer.status_code)}  # $refs resolve in the document
    OAS31Validator(schema).validate(body)
    return body


@pytest.fixture
def probed(service_factory, graph_receiver):
    service = service_factory(graph_receiver.url, env={"CONCIERGE_PROBE_SECRET": SECRET}, extra_args=("--probe",))
    with httpx.Client(base_url=service.url, headers={"X-Probe-Secret": SECRET}, timeout=30) as http:
        yield service, http


def service_signed_message(service) -> httpx.Response:
    from .service_proc import signed_messages

    hook = signed_messages().message_webhook("+250780000001", kind="text", text="I need paracetamol near Remera")
    return httpx.post(service.url + "/webhook", content=hook.body, headers=hook.headers, timeout=10)


def test_the_document_is_valid_openapi_3_1():
    validate(DOC)
    assert DOC["info"]["version"] == "1.2"  # revisions 1.1 (ocr, seed) and 1.2 (settle) only added: still /probe/v1


def test_every_answer_matches_the_contract(probed):
    service, http = probed
    described = check(http.get("/probe/v1"), "/probe/v1")
    assert described["capabilities"] == ["reset", "clock", "activity", "ledger", "brain", "ocr", "seed", "settle"]
    reset = {"now": START, "flags": {"FEATURE_AI_CONCIERGE": "true"}, "caps": {"batch_size_max": 3},
             "vendors": [{"id": "pharma_plus", "name": "Pharma Plus", "phone": "+250788000101",
                          "categories": ["pharmacy"], "area": "Kimironko"}],
             "clients": [{"phone": "+250780000001", "area": "Kimironko", "language": "en"}]}
    after = check(http.post("/probe/v1/reset", json=reset), "/probe/v1/reset", "post")
    assert after["now"] == START and after["next_due"] is None and after["inbox"] == 0
    assert check(http.get("/probe/v1/activity", params={"wait": 10}), "/probe/v1/activity")["settled"]
    check(http.get("/probe/v1/activity", params={"wait": "soon"}), "/probe/v1/activity")  # 400
    moved = check(http.post("/probe/v1/clock", json={"now": START + 90}), "/probe/v1/clock", "post")
    assert moved["now"] == START + 90
    check(http.post("/probe/v1/clock", json={"now": START}), "/probe/v1/clock", "post")  # 400: backwards
    assert http.post("/probe/v1/clock", json={"now": START}).status_code == 400
    check(http.get("/probe/v1/activity"), "/probe/v1/activity")
    tables = check(http.get("/probe/v1/ledger"), "/probe/v1/ledger")["tables"]
    assert {"requests", "outreach", "audit", "state_changes"} <= set(tables)
    assert tables["requests"] == []  # the reset emptied the ledger
    signed = service_signed_message(service)  # a client's message: the ledger records it ...
    assert signed.status_code == 200
    assert check(http.get("/probe/v1/activity", params={"wait": 10}), "/probe/v1/activity")["settled"]
    assert len(http.get("/probe/v1/ledger").json()["tables"]["requests"]) == 1
    again = check(http.post("/probe/v1/reset", json={"now": START}), "/probe/v1/reset", "post")
    assert again["inbox"] == 0
    assert http.get("/probe/v1/ledger").json()["tables"]["requests"] == []  # ... and a reset empties it
    scripted = check(http.post("/probe/v1/brain", json={"next": {"type": "ask_client"}}), "/probe/v1/brain", "post")
    assert scripted == {"outputs_pending": 1, "faults_pending": 0}
    check(http.post("/probe/v1/brain", json={"fault": "sideways"}), "/probe/v1/brain", "post")  # 400
    check(http.post("/probe/v1/reset", json={"flags": {}}), "/probe/v1/reset", "post")  # 400: no now
    check(http.post("/probe/v1/reset", json={"now": START, "seed": "7"}), "/probe/v1/reset", "post")  # 400


def test_ocr_and_seed_answer_as_the_contract_says(probed):
    _, http = probed
    reset = {"now": START, "seed": 55, "flags": {"FEATURE_AI_CONCIERGE": "true", "FEATURE_AI_CONCIERGE_OCR": "true"},
             "vendors": [{"id": "pharma_plus", "name": "Pharma Plus", "phone": "+250788000101",
                          "categories": ["pharmacy"], "area": "Kimironko"}]}
    check(http.post("/probe/v1/reset", json=reset), "/probe/v1/reset", "post")
    reading = {"text": "Rx\nAmoxicillin 500mg", "confidence": 0.9, "fields": {"drug_name": {"value": "Amoxicillin",
                                                                                         "confidence": 0.5}}}
    assert check(http.post("/probe/v1/ocr", json={"reading": reading}), "/probe/v1/ocr", "post") == {
        "readings_pending": 1, "faults_pending": 0}
    assert check(http.post("/probe/v1/ocr", json={"fault": "garbage", "times": 2}), "/probe/v1/ocr", "post") == {
        "readings_pending": 1, "faults_pending": 2}
    for bad in ({"fault": "sideways"}, {"fault": "error", "times": 0}, {"reading": {"confidence": 0.5}}, {}):
        answer = http.post("/probe/v1/ocr", json=bad)
        assert answer.status_code == 400, bad
        check(answer, "/probe/v1/ocr", "post")
    seed = {"request": {"state": "awaiting_vendor_replies",
                        "requirements": {"item": "Amoxicillin 500mg", "category": "pharmacy", "place": "Kimironko"},
                        "outreach": [{"vendor": "pharma_plus"}]}}
    seeded = check(http.post("/probe/v1/seed", json={"initial_state": seed, "vendors": {"pharma_plus": "+250788000101"},
                                                     "client": {"phone": "+250780000001", "language": "en"}}),
                   "/probe/v1/seed", "post")
    assert seeded["problems"] == [] and seeded["next_due"] is not None  # the request's timers are armed
    tables = http.get("/probe/v1/ledger").json()["tables"]
    assert [r["state"] for r in tables["requests"]] == ["awaiting_vendor_replies"]
    assert [(r["vendor_id"], r["status"]) for r in tables["outreach"]] == [("pharma_plus", "sent")]
    for bad in ({"initial_state": seed}, {"initial_state": "x", "client": {"phone": "+250780000001"}},
                {"initial_state": {"request": {"state": "awaiting_vendor_replies", "requirements": {"item": "x"},
                                               "replies": [{"vendor": "nobody", "text": "yes"}]}},
                 "client": {"phone": "+250780000002"}}):
        answer = http.post("/probe/v1/seed", json=bad)
        assert answer.status_code == 400, bad
        check(answer, "/probe/v1/seed", "post")


def test_settle_moves_the_clock_waits_and_sends_only_the_changed_tables(probed):
    service, http = probed
    reset = {"now": START, "flags": {"FEATURE_AI_CONCIERGE": "true"},
             "vendors": [{"id": "pharma_plus", "name": "Pharma Plus", "phone": "+250788000101",
                          "categories": ["pharmacy"], "area": "Kimironko"}]}
    check(http.post("/probe/v1/reset", json=reset), "/probe/v1/reset", "post")
    first = check(http.post("/probe/v1/settle", json={"wait": 10, "ledger": {}}), "/probe/v1/settle", "post")
    assert first["settled"] and first["now"] == START
    tables = http.get("/probe/v1/ledger").json()["tables"]
    assert first["ledger"]["tables"] == tables  # {}: every table, as /ledger has them
    assert set(first["ledger"]["digests"]) == set(tables)
    digests = first["ledger"]["digests"]
    same = check(http.post("/probe/v1/settle", json={"wait": 0, "ledger": digests}), "/probe/v1/settle", "post")
    assert same["ledger"] == {"digests": digests, "tables": {}}  # nothing changed: nothing sent again
    assert service_signed_message(service).status_code == 200
    after = check(http.post("/probe/v1/settle", json={"wait": 10, "ledger": digests}), "/probe/v1/settle", "post")
    assert after["settled"] and after["inbox"] == 0
    changed = set(after["ledger"]["tables"])
    assert "requests" in changed and len(after["ledger"]["tables"]["requests"]) == 1
    assert changed == {n for n, d in after["ledger"]["digests"].items() if d != digests[n]}
    assert after["ledger"]["tables"] == {n: rows for n, rows in http.get("/probe/v1/ledger").json()["tables"].items()
                                         if n in changed}
    moved = check(http.post("/probe/v1/settle", json={"now": START + 600, "wait": 10}), "/probe/v1/settle", "post")
    assert moved["now"] == START + 600 and "ledger" not in moved  # not asked for: not read
    for bad in ({"now": START}, {"wait": "soon"}, {"ledger": ["requests"]}, {"ledger": {"requests": 3}}):
        answer = http.post("/probe/v1/settle", json=bad)
        assert answer.status_code == 400, bad  # backwards in time, or a field of the wrong kind
        check(answer, "/probe/v1/settle", "post")


def test_without_its_secret_the_probe_refuses_everything(probed):
    service, _ = probed
    for method, path in [("GET", "/probe/v1"), ("POST", "/probe/v1/reset"), ("POST", "/probe/v1/clock"),
                         ("GET", "/probe/v1/activity"), ("GET", "/probe/v1/ledger"), ("POST", "/probe/v1/brain"),
                         ("POST", "/probe/v1/ocr"), ("POST", "/probe/v1/seed"), ("POST", "/probe/v1/settle")]:
        for headers in ({}, {"X-Probe-Secret": "wrong-secret-of-some-length"}):
            answer = httpx.request(method, service.url + path, headers=headers, json={"now": START}, timeout=10)
            assert answer.status_code == 401, (method, path, headers)
            check(answer, path, method.lower())


def test_a_service_without_probe_has_none(service_factory, graph_receiver):
    service = service_factory(graph_receiver.url, env={"CONCIERGE_PROBE_SECRET": SECRET})
    for path in ("/probe/v1", "/probe/v1/ledger", "/probe/v1/activity"):
        assert httpx.get(service.url + path, headers={"X-Probe-Secret": SECRET}).status_code == 404


def test_probe_without_a_secret_does_not_start(tmp_path, service_env):
    env = {**service_env, "WHATSAPP_API_URL": "http://127.0.0.1:9"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "service", "--port", "0", "--db", str(tmp_path / "l.sqlite"),
                           "--probe"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == ("concierge-sim concierge: --probe needs CONCIERGE_PROBE_SECRET set to a "
                                   "secret of at least 16 characters")
    assert not (tmp_path / "l.sqlite").exists()
    assert time.monotonic() - started < 60
