"""The proof that the fake speaks Meta's wire format: pywa 4.5.0, a real Cloud API client, talks to it.

pywa sends through the fake's httpx client and reads the fake's webhooks with its own signature
validator and update parser; if the fake drifted from the format pywa was written against, these fail.
"""

from __future__ import annotations

import pytest
from pywa import WhatsApp, errors, handlers, types

from concierge.webhooks import parse_webhook
from simulators.whatsapp import FakeWhatsAppCloud

PNID = "106540352242922"
TOKEN = "EAAG-wire-token"
SECRET = "wire-app-secret"
ALICE = "+250788000101"


def test_pywa_is_the_pinned_version():
    import pywa

    assert pywa.__version__ == "4.5.0"


@pytest.fixture
def fake() -> FakeWhatsAppCloud:
    return FakeWhatsAppCloud(phone_number_id=PNID, access_token=TOKEN, app_secret=SECRET, now=lambda: 1_750_000_000.0)


@pytest.fixture
def wa(fake) -> WhatsApp:
    # No server: pywa only needs verify_token/app_secret when it registers routes itself.
    # filter_updates stays on, so pywa checks the WABA id and phone_number_id of every update;
    # skip_duplicate_updates stays on too (it only matters for redeliveries, tested below).
    return WhatsApp(
        phone_id=PNID, token=TOKEN, session=fake.client(), app_secret=SECRET, waba_id=fake.waba_id,
        api_version="21.0", validate_updates=True,
    )


def collect(wa: WhatsApp) -> list:
    received: list = []
    kinds = (handlers.MessageHandler, handlers.CallbackButtonHandler, handlers.MessageStatusHandler)
    wa.add_handlers(*[kind(lambda _, update: received.append(update)) for kind in kinds])
    return received


def deliver(wa: WhatsApp, hook) -> None:
    assert wa.webhook_update_validator(hook.body, hook.headers["X-Hub-Signature-256"]) is None
    assert wa.webhook_update_handler(hook.body) == ("ok", 200)


# --- pywa sends through the fake -----------------------------------------------------------------


def test_pywa_send_message_is_recorded(fake, wa):
    sent = wa.send_message(to="250788000101", text="Muraho! Dufite amoxicillin.", tracker="request:r1:key")
    (record,) = fake.sent
    assert (record.to, record.type, record.text, record.callback_data) == (
        ALICE, "text", "Muraho! Dufite amoxicillin.", "request:r1:key")
    assert sent.id == record.wamid and sent.chat.id == "250788000101"


def test_pywa_reply_buttons_are_recorded(fake, wa):
    wa.send_message(to="250788000101", text="May we call the vendor?",
                    buttons=[types.Button(title="Yes", callback_data="consent:yes"),
                             types.Button(title="No", callback_data="consent:no")])
    (record,) = fake.sent
    assert (record.type, record.buttons) == ("interactive", (("consent:yes", "Yes"), ("consent:no", "No")))


def test_pywa_downloads_media_from_the_fake(fake, wa):
    media_id = fake.put_media(b"%PDF-1.4 rx", "application/pdf")
    url = wa.get_media_url(media_id)
    assert (url.mime_type, url.file_size) == ("application/pdf", 11)
    assert wa.get_media_bytes(url.url) == b"%PDF-1.4 rx"


def test_pywa_reads_fake_errors_as_meta_errors(fake, wa):
    fake.inject_fault("whatsapp_send", status=429, retry_after=5)
    with pytest.raises(errors.RateLimitHit):
        wa.send_message(to="250788000101", text="hi")
    other = WhatsApp(phone_id=PNID, token="wrong", session=fake.client(), validate_updates=False)
    with pytest.raises(errors.ExpiredAccessToken):  # pywa's class for Graph error code 190
        other.send_message(to="250788000101", text="hi")
    assert fake.sent == []


# --- pywa reads the fake's webhooks ----------------------------------------------------------------


def test_text_webhook_passes_pywa_validation_and_parses(fake, wa):
    received = collect(wa)
    hook = fake.message_webhook(ALICE, text="Ndashaka panadol 👋", profile_name="Aline")
    deliver(wa, hook)
    (msg,) = received
    assert isinstance(msg, types.Message)
    assert (msg.id, msg.text, msg.from_user.wa_id, msg.from_user.name) == (
        hook.wamid, "Ndashaka panadol 👋", "250788000101", "Aline")
    assert msg.metadata.phone_number_id == PNID and msg.waba_id == fake.waba_id
    # ...and our own parser agrees with pywa on the same bytes.
    (ours,) = parse_webhook(hook.body, hook.headers["X-Hub-Signature-256"], SECRET)
    assert (ours.wamid, ours.text, ours.from_phone) == (msg.id, msg.text, "+" + msg.from_user.wa_id)


def test_a_tampered_webhook_fails_pywa_validation(fake, wa):
    hook = fake.message_webhook(ALICE, text="hi")
    assert wa.webhook_update_validator(hook.body + b" ", hook.headers["X-Hub-Signature-256"]) == ("Forbidden", 403)
    assert wa.webhook_update_validator(hook.body, None) == ("Unauthorized", 401)


def test_image_webhook_parses_with_media_and_caption(fake, wa):
    received = collect(wa)
    media_id = fake.put_media(b"\xff\xd8jpeg", "image/jpeg")
    deliver(wa, fake.message_webhook(ALICE, kind="image", media_id=media_id, caption="ordonnance"))
    (msg,) = received
    assert (msg.image.id, msg.image.mime_type, msg.caption) == (media_id, "image/jpeg", "ordonnance")


def test_button_reply_webhook_parses_as_callback_button(fake, wa):
    received = collect(wa)
    deliver(wa, fake.message_webhook(ALICE, kind="interactive", button_id="consent:yes", button_title="Yes",
                                     context_wamid="wamid.OUT"))
    (cb,) = received
    assert isinstance(cb, types.CallbackButton)
    assert (cb.data, cb.title, cb.reply_to_message.id) == ("consent:yes", "Yes", "wamid.OUT")


def test_status_webhook_parses_with_the_tracker(fake, wa):
    received = collect(wa)
    wa.send_message(to="250788000101", text="hi", tracker="request:r9:key")
    (hook,) = fake.drain_status_webhooks()
    deliver(wa, hook)
    (status,) = received
    assert isinstance(status, types.MessageStatus)
    assert (status.id, status.status, status.tracker) == (fake.sent[0].wamid, "sent", "request:r9:key")


def test_pywa_skips_a_redelivered_webhook_like_the_concierge_must(fake, wa):
    received = collect(wa)
    hook = fake.message_webhook(ALICE, text="once")
    deliver(wa, hook)
    deliver(wa, hook)
    assert len(received) == 1


def test_updates_for_another_phone_number_are_filtered_by_pywa(fake, wa):
    received = collect(wa)
    stranger = FakeWhatsAppCloud(phone_number_id="999", access_token=TOKEN, app_secret=SECRET,
                                 waba_id=fake.waba_id, now=lambda: 1_750_000_000.0)
    deliver(wa, stranger.message_webhook(ALICE, text="not for you"))
    assert received == []
