"""pywa 4.5.0, an independent Cloud API client, against the emulator served on a loopback port.

pywa is unmodified: its httpx session only gets the emulator's base URL instead of Meta's. Webhooks
arrive at a real HTTP subscriber that hands the raw bytes to pywa's own signature check and parser,
and pywa's own challenge handler answers the subscription handshake.
"""

from __future__ import annotations

import threading

import httpx
import pytest
from pywa import WhatsApp, errors, handlers, types

from .emulator_proc import SECRETS
from .webhook_receiver import WebhookReceiver

ALICE = "+250788000201"
WABA_ID = "102290129340398"  # the emulator's default WABA id


class PywaSubscriber:
    """pywa behind a loopback HTTP server: what a pywa bot deployed as a webhook would be."""

    def __init__(self, emulator_url: str):
        self.session = httpx.Client(timeout=5.0)
        self.wa = WhatsApp(
            phone_id=SECRETS["phone_number_id"], token=SECRETS["access_token"], session=self.session,
            app_secret=SECRETS["app_secret"], verify_token=SECRETS["verify_token"], waba_id=WABA_ID,
            api_version="21.0", validate_updates=True,
        )
        self.session.base_url = f"{emulator_url}/v21.0"  # the one setting changed
        self.updates: list = []
        self.refused: list[int] = []
        self._lock = threading.Lock()
        self._kept = threading.Condition(self._lock)  # notified at every update pywa hands over
        kinds = (handlers.MessageHandler, handlers.CallbackButtonHandler, handlers.CallbackSelectionHandler,
                 handlers.MessageStatusHandler)
        self.wa.add_handlers(*[kind(lambda _, update: self._keep(update)) for kind in kinds])
        self.receiver = WebhookReceiver(SECRETS["verify_token"], on_webhook=self._webhook,
                                        on_handshake=self._challenge).start()

    def _keep(self, update) -> None:
        with self._lock:
            self.updates.append(update)
            self._kept.notify_all()

    def _challenge(self, query: dict[str, str]) -> tuple[str, int]:
        text, status = self.wa.webhook_challenge_handler(query.get("hub.verify_token"), query.get("hub.challenge"))
        return text or "", status

    def _webhook(self, body: bytes, headers: dict[str, str]) -> int:
        problem = self.wa.webhook_update_validator(body, headers.get("X-Hub-Signature-256"))
        if problem is not None:
            self.refused.append(problem[1])
            return problem[1]
        return self.wa.webhook_update_handler(body)[1]

    def of(self, kind: type, count: int = 1, timeout: float = 60.0) -> list:
        """The first ``count`` updates of ``kind``, once they came (woken by each update; the bound
        is a backstop for an emulator that never delivers)."""
        def found() -> list:
            return [u for u in self.updates if isinstance(u, kind)]

        with self._kept:
            if self._kept.wait_for(lambda: len(found()) >= count, timeout):
                return found()
            raise AssertionError(f"expected {count} {kind.__name__} update(s), got {self.updates}")

    def close(self) -> None:
        self.receiver.stop()
        self.session.close()


@pytest.fixture
def bot(shared_emulator):
    shared_emulator.clear_faults()
    subscriber = PywaSubscriber(shared_emulator.url)
    shared_emulator.subscribe(subscriber.receiver.url)  # the handshake goes through pywa's handler
    try:
        yield subscriber
    finally:
        subscriber.close()


def test_pywa_answers_the_handshake_and_accepts_signed_webhooks(shared_emulator, bot):
    said = shared_emulator.say(ALICE, "Ndashaka amoxicillin", name="Aline")
    (msg,) = bot.of(types.Message)
    assert (msg.id, msg.text, msg.from_user.wa_id, msg.from_user.name) == (
        said["wamid"], "Ndashaka amoxicillin", "250788000201", "Aline")
    assert msg.metadata.phone_number_id == SECRETS["phone_number_id"]
    assert bot.refused == [] and bot.receiver.handshakes[-1]["hub.mode"] == "subscribe"


def test_pywa_sends_text_buttons_and_lists_through_the_served_emulator(shared_emulator, bot):
    phone = "+250788000202"
    text = bot.wa.send_message(to=phone[1:], text="Muraho! Dufite amoxicillin.", tracker="request:r1:key")
    bot.wa.send_message(to=phone[1:], text="May we call the vendor?",
                        buttons=[types.Button(title="Yes", callback_data="consent:yes"),
                                 types.Button(title="No", callback_data="consent:no")])
    bot.wa.send_message(to=phone[1:], text="Which area?", buttons=types.SectionList(
        button_title="Areas", sections=[types.Section(title="Kigali", rows=[
            types.SectionRow(title="Kimironko", callback_data="area:kimironko"),
            types.SectionRow(title="Remera", callback_data="area:remera", description="near the stadium")])]))
    out = [m for m in shared_emulator.conversation(phone) if m["direction"] == "out"]
    assert [m["wamid"] for m in out][0] == text.id
    assert (out[0]["text"], out[0]["callback_data"]) == ("Muraho! Dufite amoxicillin.", "request:r1:key")
    assert out[1]["buttons"] == [{"id": "consent:yes", "title": "Yes"}, {"id": "consent:no", "title": "No"}]
    assert (out[2]["list_button"], [r["id"] for r in out[2]["rows"]]) == ("Areas", ["area:kimironko", "area:remera"])


def test_status_webhooks_reach_pywa_with_the_tracker(shared_emulator, bot):
    sent = bot.wa.send_message(to="250788000203", text="hi", tracker="request:r9:key")
    statuses = bot.of(types.MessageStatus, 2)
    assert [(s.id, s.status.value, s.tracker) for s in statuses[:2]] == [
        (sent.id, "sent", "request:r9:key"), (sent.id, "delivered", "request:r9:key")]


def test_taps_on_a_button_and_a_list_row_reach_pywa_as_callbacks(shared_emulator, bot):
    phone = "+250788000204"
    offer = bot.wa.send_message(to=phone[1:], text="Call?", buttons=[types.Button(title="Yes", callback_data="c:yes")])
    bot.wa.send_message(to=phone[1:], text="Area?", buttons=types.SectionList(button_title="Areas", sections=[
        types.Section(title="Kigali", rows=[types.SectionRow(title="Remera", callback_data="area:remera")])]))
    shared_emulator.say(phone, button="Yes")
    shared_emulator.say(phone, list="remera")  # a person taps by what they see; case does not matter
    (tap,) = bot.of(types.CallbackButton)
    (pick,) = bot.of(types.CallbackSelection)
    assert (tap.data, tap.title, tap.reply_to_message.id) == ("c:yes", "Yes", offer.id)
    assert (pick.data, pick.title) == ("area:remera", "Remera")


def test_pywa_marks_a_message_read_and_downloads_an_uploaded_image(shared_emulator, bot):
    phone = "+250788000205"
    photo = b"\xff\xd8\xff\xe0 a prescription photo"
    answer = shared_emulator.call("POST", "/sim/messages", data={"from": phone, "caption": "ordonnance"},
                                  files={"file": ("rx.jpg", photo, "image/jpeg")}).json()
    (msg,) = [m for m in bot.of(types.Message) if m.id == answer["wamid"]]
    assert (msg.type.value, msg.caption, msg.image.mime_type) == ("image", "ordonnance", "image/jpeg")
    url = bot.wa.get_media_url(msg.image.id)
    assert url.url.startswith(shared_emulator.url + "/whatsapp_business/attachments/")
    assert bot.wa.get_media_bytes(url.url) == photo
    assert bot.wa.mark_message_as_read(msg.id).success is True
    (logged,) = [m for m in shared_emulator.conversation(phone) if m["wamid"] == msg.id]
    assert logged["read_by_business"] is True


def test_pywa_reads_the_emulators_errors_as_meta_errors(shared_emulator, bot):
    shared_emulator.fault(target="whatsapp_send", status=429, retry_after=5)
    with pytest.raises(errors.RateLimitHit):
        bot.wa.send_message(to="250788000206", text="hi")
    with httpx.Client(timeout=5.0) as session:
        stranger = WhatsApp(phone_id=SECRETS["phone_number_id"], token="wrong", session=session,
                            validate_updates=False)
        session.base_url = f"{shared_emulator.url}/v21.0"
        with pytest.raises(errors.ExpiredAccessToken):  # pywa's class for Graph error code 190
            stranger.send_message(to="250788000206", text="hi")
    with pytest.raises(errors.WhatsAppError):  # a list row title over 24 characters, as Meta refuses
        bot.wa.send_message(to="250788000206", text="Area?", buttons=types.SectionList(button_title="Areas",
                            sections=[types.Section(title="K", rows=[types.SectionRow(title="x" * 25, callback_data="a")])]))
    assert shared_emulator.conversation("+250788000206") == []
