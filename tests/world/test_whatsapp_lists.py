"""Interactive lists and mark-as-read in the fake, in process: whatever list a client sends, the fake
answers 200 with rows inside Meta's limits, or 400 (131009) naming what is wrong; it never raises."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from simulators.whatsapp import MAX_LIST_ROWS, MAX_ROW_ID, MAX_ROW_TITLE, FakeWhatsAppCloud

PNID, TOKEN = "106540352242922", "tok"
text = st.one_of(st.text(max_size=30), st.integers(), st.none())
row = st.fixed_dictionaries({"id": text, "title": text}, optional={"description": st.text(max_size=80)})
section = st.fixed_dictionaries({"rows": st.lists(row, max_size=12)}, optional={"title": text})
list_payload = st.fixed_dictionaries({
    "type": st.just("list"), "body": st.fixed_dictionaries({"text": text}),
    "action": st.fixed_dictionaries({"button": text, "sections": st.lists(section, max_size=11)}),
})


def fake() -> FakeWhatsAppCloud:
    return FakeWhatsAppCloud(phone_number_id=PNID, access_token=TOKEN, app_secret="s", now=lambda: 1.0)


def send(f: FakeWhatsAppCloud, body: dict):
    return f.client().post(f"/v21.0/{PNID}/messages", json={"messaging_product": "whatsapp", **body},
                           headers={"Authorization": f"Bearer {TOKEN}"})


@given(list_payload)
@example({"type": "list", "body": {"text": "Which area?"}, "action": {"button": "Areas", "sections": [
    {"title": "Kigali", "rows": [{"id": "a:1", "title": "Kimironko"}, {"id": "a:2", "title": "Remera"}]}]}})
def test_any_list_is_accepted_within_the_limits_or_refused_with_131009(interactive):
    f = fake()
    answer = send(f, {"to": "250788000101", "type": "interactive", "interactive": interactive})
    assert answer.status_code in (200, 400)
    if answer.status_code == 400:
        assert answer.json()["error"]["code"] == 131009 and f.sent == []
        return
    (sent,) = f.sent
    assert 1 <= len(sent.rows) <= MAX_LIST_ROWS and len({i for i, _ in sent.rows}) == len(sent.rows)
    assert all(1 <= len(i) <= MAX_ROW_ID and 1 <= len(t) <= MAX_ROW_TITLE for i, t in sent.rows)
    assert sent.list_button == interactive["action"]["button"]


def test_mark_as_read_only_for_a_message_the_number_received():
    f = fake()
    hook = f.message_webhook("+250788000101", text="hi")
    assert send(f, {"status": "read", "message_id": "wamid.other"}).status_code == 400
    assert send(f, {"status": "read", "message_id": hook.wamid}).json() == {"success": True}
    assert f.read_marks == [hook.wamid] and f.sent == []
