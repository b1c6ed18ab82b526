"""The fake encodes only each webhook's own fields into an envelope it encoded once, and signs with
HMACs keyed once: the bytes and the signatures must be those of encoding the whole payload and
signing it from scratch, whatever the value holds and whatever the number's identity becomes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.webhooks import StatusUpdate, parse_webhook
from simulators.whatsapp import FakeWhatsAppCloud

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


def _fake(**kwargs) -> FakeWhatsAppCloud:
    return FakeWhatsAppCloud(phone_number_id="106540352242922", access_token="t", app_secret="secret",
                             now=lambda: 1.75e9, **kwargs)


def _whole(fake: FakeWhatsAppCloud, value: dict) -> bytes:
    """The webhook as the fake built it before: the whole payload encoded at once."""
    envelope = {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": fake.display_phone.lstrip("+"),
                             "phone_number_id": fake.phone_number_id}, **value}
    payload = {"object": "whatsapp_business_account",
               "entry": [{"id": fake.waba_id, "changes": [{"value": envelope, "field": "messages"}]}]}
    return json.dumps(payload, separators=(",", ":")).encode("ascii")


def _signatures(secret: str, body: bytes) -> tuple[str, str]:
    return ("sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest())


_FAKE = _fake()


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8) | st.sampled_from(["messaging_product", "metadata", "statuses"]),
                             _JSON, max_size=4))
def test_a_webhook_is_the_whole_payload_encoded_and_signed(value):
    hook = _FAKE._signed(value, "wamid.x")
    assert hook.body == _whole(_FAKE, value)
    assert (hook.headers["X-Hub-Signature-256"], hook.headers["X-Hub-Signature"]) == _signatures("secret", hook.body)


@pytest.mark.parametrize("attribute, new", [
    ("waba_id", "999"), ("display_phone", "+250788111222"), ("phone_number_id", "555"), ("app_secret", "other"),
])
def test_the_envelope_and_keys_follow_the_numbers_identity(attribute, new):
    """A fake whose WABA, number, phone number id or app secret changes builds its next webhook anew."""
    fake = _fake()
    fake.status_webhook("wamid.a", "sent", "+250788000101", "k1")
    setattr(fake, attribute, new)
    hook = fake.status_webhook("wamid.a", "sent", "+250788000101", "k1")
    value = json.loads(hook.body)["entry"][0]["changes"][0]["value"]
    assert hook.body == _whole(fake, {k: v for k, v in value.items() if k not in ("messaging_product", "metadata")})
    assert (hook.headers["X-Hub-Signature-256"], hook.headers["X-Hub-Signature"]) == _signatures(fake.app_secret,
                                                                                                 hook.body)
    assert fake.sign(hook.body) == hook.headers["X-Hub-Signature-256"]


def test_a_status_webhook_still_parses_and_verifies():
    fake = _fake()
    hook = fake.status_webhook("wamid.é", "delivered", "+250788000101", "ké")
    assert b"\\u00e9" in hook.body  # ASCII-escaped, as Meta sends it
    (update,) = parse_webhook(hook.body, hook.headers["X-Hub-Signature-256"], "secret")
    assert update == StatusUpdate(wamid="wamid.é", status="delivered", recipient="+250788000101",
                                  timestamp=1750000000, callback_data="ké")
