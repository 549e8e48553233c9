"""Hand-offs in the store (both backends): one per request, found again by the staff-chat message from
any instance (a second Store on the same database), answered once counted, limited per citizen, deleted
by /forget and by retention; and which messages ask for a person."""

from __future__ import annotations

import time

import pytest

from bot.handoff.service import MAX_OPEN_PER_USER, HandoffService, TooMany, asks_for_person
from bot.store.repositories import Store

STAFF_CHAT = -1001


async def test_a_reply_finds_its_handoff_from_another_instance(store: Store, tmp_path):
    service = HandoffService(store, STAFF_CHAT)
    asked = store.questions.record(5, "电梯多久检修一次", False, 0, None)
    assert await service.question_of(asked, 5) == "电梯多久检修一次"
    assert await service.question_of(asked, 6) is None  # someone else's answer
    assert await service.last_question(5) == "电梯多久检修一次"
    handoff = await service.request(5, 5, "电梯多久检修一次")
    await service.forwarded(handoff, STAFF_CHAT, 77)
    url = store.engine.url.render_as_string(hide_password=False) if store.dialect == "postgresql" else None
    other = Store(tmp_path / "data", url=url)  # another instance on the same database
    try:
        elsewhere = HandoffService(other, STAFF_CHAT)
        found = await elsewhere.for_reply(STAFF_CHAT, 77)
        assert found is not None and (found.id, found.chat_id, found.status) == (handoff.id, 5, "open")
        assert await elsewhere.for_reply(STAFF_CHAT, 78) is None
        assert await elsewhere.waiting() == 1
        await elsewhere.replied(found, 99)
        await elsewhere.replied(found, 98)
    finally:
        other.close()
    again = await service.for_reply(STAFF_CHAT, 77)
    assert again is not None and again.status == "answered" and again.replies == 2
    assert await service.waiting() == 0


async def test_limits_forget_and_retention(store: Store):
    service = HandoffService(store, STAFF_CHAT)
    for number in range(MAX_OPEN_PER_USER):
        await service.request(8, 8, f"问题{number}")
    with pytest.raises(TooMany):
        await service.request(8, 8, "再来一个")
    long = await service.request(9, 9, "x" * 5000)
    assert len(long.question) == 1000  # what the staff chat gets stays far under Telegram's 4096
    assert store.forget(8).questions == 0
    assert await service.waiting() == 1  # only user 9's is left
    assert store.prune(0, now=time.time() + 1)["handoffs"] == 1
    assert await service.waiting() == 0


@pytest.mark.parametrize(("text", "wanted", "question"), [
    ("转人工", True, ""), ("人工客服", True, ""), ("我要找人工", True, ""),
    ("转人工：企业如何申报", True, "企业如何申报"),
    ("人工 质量月是几月", True, "质量月是几月"), ("人工智能是什么", False, ""), ("质量月是几月", False, ""),
    ("转人工的流程是什么", False, ""),
])
def test_which_messages_ask_for_a_person(text, wanted, question):
    assert asks_for_person(text) == (wanted, question)
