"""A delivery of statuses only is read directly (``_plain_statuses``), without the full reader's path
bookkeeping: whenever it answers, its answer must be the full reader's, and wherever it is unsure
(anything unusual, anything the full reader refuses) it must hand over, so that the errors stay the
full reader's. The payloads below are near-valid deliveries with fields dropped, emptied, nulled or
of the wrong type, which is where a shortcut would drift."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json

from hypothesis import event, given, settings
from hypothesis import strategies as st

from concierge.errors import WebhookMalformed
from concierge.webhooks import StatusUpdate, _plain_statuses, _read_payload, parse_webhook
from simulators.whatsapp import FakeWhatsAppCloud

SECRET = "test-app-secret"

_ODD = (st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([10**19, 1.5, -1])
        | st.sampled_from(["", " ", "x", "١٢٣", "0" * 19, "9" * 19, "17e8", " 1", "+250788000101", "page"])
        | st.lists(st.integers(0, 2), max_size=2) | st.dictionaries(st.sampled_from(["a", "code"]),
                                                                      st.integers(0, 2), max_size=2))
_IDS = st.sampled_from(["wamid.A", "wamid.é", "w"]) | st.text(min_size=1, max_size=4)
_TIMES = st.sampled_from(["1750000000", "0", "0" * 18, "9" * 18]) | st.integers(0, 2**40)
_RECIPIENTS = st.sampled_from(["250788000101", "16505551234", "120363043921234567", "999", "RW.123", "0788000101"])
_ERRORS = st.lists(st.fixed_dictionaries({"code": st.integers(0, 131_100)}), max_size=2)


def _field(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a valid value, now and then an odd one."""
    return st.sampled_from([valid] * 9 + [_ODD]).flatmap(lambda strategy: strategy)


def _dict(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """A dict with every field valid, then now and then one or two fields left out or made odd."""

    @st.composite
    def build(draw):
        out = draw(st.fixed_dictionaries(fields))
        for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2]))):
            key = draw(st.sampled_from(sorted(fields)))
            if draw(st.booleans()):
                out.pop(key, None)
            else:
                out[key] = draw(_ODD)
        return out

    return build()


_STATUS = _dict({
    "id": _IDS, "status": st.sampled_from(["sent", "delivered", "read", "failed"]), "timestamp": _TIMES,
    "recipient_id": _RECIPIENTS | st.none(), "recipient_user_id": _RECIPIENTS,
    "biz_opaque_callback_data": st.text(max_size=5) | st.none(), "errors": _ERRORS,
})
_CONTACTS = st.lists(_field(_dict({"wa_id": _RECIPIENTS})), max_size=2)
_MESSAGES = st.lists(_dict({"id": _IDS, "from": _RECIPIENTS, "timestamp": _TIMES, "type": st.just("text"),
                            "text": st.just({"body": "hi"})}), max_size=1)
_VALUE = _dict({"messaging_product": st.just("whatsapp"), "statuses": st.lists(_field(_STATUS), max_size=3),
                "contacts": _CONTACTS})
_VALUE = st.sampled_from([_VALUE] * 5 + [_dict({"contacts": _CONTACTS, "messages": _MESSAGES})]).flatmap(lambda s: s)
_CHANGE = _dict({"field": st.sampled_from(["messages", "messages", "message_template_status_update"]),
                 "value": _VALUE})
_ENTRY = _dict({"id": st.just("102290129340398"), "changes": st.lists(_field(_CHANGE), max_size=2)})
_PAYLOAD = _field(_dict({"object": st.just("whatsapp_business_account"),
                         "entry": st.lists(_field(_ENTRY), max_size=2)}))


def _full(payload) -> tuple[str, object]:
    try:
        return "read", _read_payload(payload)
    except WebhookMalformed as exc:
        return "refused", str(exc)


@settings(max_examples=400, deadline=None)
@given(payload=_PAYLOAD)
def test_the_plain_reader_answers_only_as_the_full_reader_does(payload):
    plain = _plain_statuses(payload)
    event("read directly" if plain is not None else "handed over")
    if plain is not None:
        outcome, updates = _full(payload)
        assert outcome == "read"
        assert updates == plain and [type(u) for u in updates] == [type(u) for u in plain]
        assert all(type(u.timestamp) is int and type(u.errors) is tuple for u in plain)


_CORRUPTIONS = (None, True, False, 0, -1, 1.5, 10**19, "", " ", "x", "\u0661\u0662", "0" * 19, "9" * 19, "17e8",
                "-1", "+250788000101", "messages", "whatsapp_business_account", [], [1], [{}], {}, {"a": 1})


def _places(value, path=()):
    """Every place in a JSON value: each key of each object, each item of each array."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*path, key)
        yield from _places(inner, (*path, key))


def _corrupted(payload, place, new=None, *, drop=False):
    out = copy.deepcopy(payload)
    parent = out
    for key in place[:-1]:
        parent = parent[key]
    if drop:
        del parent[place[-1]]
    else:
        parent[place[-1]] = new
    return out


def _fake_payloads() -> list:
    fake = FakeWhatsAppCloud(phone_number_id="106540352242922", access_token="t", app_secret=SECRET,
                             now=lambda: 1.75e9)
    return [json.loads(fake.status_webhook("wamid.A", status, "+250788000101", "k").body)
            for status in ("sent", "failed")]


def test_every_single_corruption_of_a_status_delivery_is_read_as_the_full_reader_reads_it():
    """Each field of a real status delivery left out or replaced by each odd value in turn (the
    places a shortcut's checks drift): the direct reading, when it answers, is the full reader's."""
    read_directly = 0
    for payload in _fake_payloads():
        for place in list(_places(payload)):
            variants = [_corrupted(payload, place, new) for new in _CORRUPTIONS]
            if isinstance(place[-1], str):
                variants.append(_corrupted(payload, place, drop=True))
            for variant in variants:
                plain = _plain_statuses(variant)
                if plain is not None:
                    read_directly += 1
                    assert _full(variant) == ("read", plain), (place, variant)
    assert read_directly > 100  # most corruptions of unread fields (metadata, ids) are still read directly


@settings(max_examples=300, deadline=None)
@given(payload=_PAYLOAD)
def test_parse_webhook_answers_as_the_full_reader(payload):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    try:
        got = ("read", parse_webhook(body, signature, SECRET))
    except WebhookMalformed as exc:
        got = ("refused", str(exc))
    assert got == _full(json.loads(body))


@settings(max_examples=200, deadline=None)
@given(wamid=st.text(min_size=1, max_size=8), status=st.sampled_from(["sent", "delivered", "read", "failed"]),
       callback=st.none() | st.text(max_size=8),
       phone=st.sampled_from(["+250788000101", "+16505551234", "+447700900123"]))
def test_the_fakes_status_webhooks_are_read_directly(wamid, status, callback, phone):
    """Else the property above would hold trivially: every status delivery the world sends takes
    the direct reading, and gives what the full reader gives."""
    fake = FakeWhatsAppCloud(phone_number_id="106540352242922", access_token="t", app_secret=SECRET,
                             now=lambda: 1.75e9)
    hook = fake.status_webhook(wamid, status, phone, callback)
    payload = json.loads(hook.body)
    plain = _plain_statuses(payload)
    assert plain is not None and plain == _read_payload(payload)
    (update,) = plain
    assert update == StatusUpdate(wamid=wamid, status=status, recipient=phone, timestamp=1_750_000_000,
                                  callback_data=callback, errors=update.errors)
    assert bool(update.errors) == (status == "failed")


def test_a_message_delivery_is_left_to_the_full_reader():
    fake = FakeWhatsAppCloud(phone_number_id="106540352242922", access_token="t", app_secret=SECRET,
                             now=lambda: 1.75e9)
    payload = json.loads(fake.message_webhook("+250788000101", text="hi").body)
    assert _plain_statuses(payload) is None and len(_read_payload(payload)) == 1
