"""What the store promises, seen from chat (real PTB Application, offline HTTP): buttons survive a
restart and forged ones answer nothing, drafts and votes belong to their owner, a full disk does
not stop answers, /privacy and /forget, and the audit of staff actions."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError

from bot.faces.telegram.app import build_application
from bot.people import FloodGuard
from bot.services import build_services
from bot.settings import Settings
from bot.store import schema
from bot.store.repositories import Store
from tests.recording import RecordingRequest
from tests.test_telegram_handlers import (  # noqa: F401
    ADMIN,
    CITIZEN,
    OTHER,
    Harness,
    bot,
    callback_update,
    message_update,
)

# Within the two years ahead that /schedule accepts.
NEXT_YEAR = dt.date.today().year + 1


def keyboard(call: dict) -> list[str]:
    return [b["callback_data"] for row in (call.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def replies(calls: list[dict], method: str = "sendMessage") -> list[dict]:
    return [call for call in calls if call["method"] == method]


async def harness(engine, store: Store, tmp_path: Path) -> Harness:
    settings = Settings(token="123456:TEST-TOKEN-ABCDEF", api_url="http://127.0.0.1:9", admins=frozenset({ADMIN}),
                        data_dir=tmp_path, flood_messages=1000, flood_seconds=60)
    request = RecordingRequest()
    application = build_application(build_services(settings, engine, store), request=request)
    await application.initialize()
    return Harness(application, request, store)


async def test_a_suggestion_button_still_answers_after_a_restart(engine, tmp_path: Path):
    store = Store(tmp_path / "data")
    first = await harness(engine, store, tmp_path)
    reply = replies(await first.send(message_update(CITIZEN, "今天天气怎么样")))[0]
    token = next(data for data in keyboard(reply) if data.startswith("ask:"))
    await first.application.shutdown()
    store.close()

    store = Store(tmp_path / "data")  # a new process: nothing in memory survives, the store does
    second = await harness(engine, store, tmp_path)
    try:
        answer = replies(await second.send(callback_update(CITIZEN, token)))[0]
        assert "来源" in answer["text"]
    finally:
        await second.application.shutdown()
        store.close()


async def test_forged_or_stale_buttons_get_a_polite_reply_and_nothing_is_stored(bot):  # noqa: F811
    bot.application.bot_data["services"].assistant.flood = FloodGuard(10_000, 60)  # this test is not about flooding
    before = bot.store.questions.stats(0, 0).questions
    for data in ("ask:b", "ask:1", "ask:" + "A" * 12, "fg:b", "fg:" + "A" * 12):
        calls = await bot.send(callback_update(CITIZEN, data))
        assert replies(calls) == [], data  # never another answer
        answered = replies(calls, "answerCallbackQuery")
        assert answered and "过期" in answered[0]["text"], data
    assert bot.store.questions.stats(0, 0).questions == before  # `ask:b` is not logged as a question
    old = bot.store.buttons.issue("ask", ["质量月是什么？"], ttl=-1)[0]
    calls = await bot.send(callback_update(CITIZEN, f"ask:{old}"))
    assert replies(calls) == [] and "过期" in replies(calls, "answerCallbackQuery")[0]["text"]


async def test_only_the_asker_can_vote_on_an_answer(bot):  # noqa: F811
    reply = replies(await bot.send(message_update(CITIZEN, "质量月是每年几月")))[0]
    vote = next(data for data in keyboard(reply) if data.startswith("vote:") and data.endswith(":1"))
    refused = replies(await bot.send(callback_update(OTHER, vote)), "answerCallbackQuery")[0]
    assert "谢谢" not in refused["text"]
    assert bot.store.questions.stats(0, 0).up == 0
    accepted = replies(await bot.send(callback_update(CITIZEN, vote)), "answerCallbackQuery")[0]
    assert "谢谢" in accepted["text"] and bot.store.questions.stats(0, 0).up == 1


async def test_a_broadcast_draft_is_confirmed_only_by_its_author_and_expires(bot):  # noqa: F811
    bot.store.subscriptions.subscribe(5)
    bot.store.staff.add(OTHER, added_by=ADMIN)
    preview = replies(await bot.send(message_update(ADMIN, "/broadcast 质量月通知")))[0]
    confirm = next(data for data in keyboard(preview) if data.startswith("bc:go:"))
    assert "b1" not in confirm  # a random token, not the sequential id
    refused = replies(await bot.send(callback_update(OTHER, confirm)), "answerCallbackQuery")[0]
    assert "只有发起" in refused["text"]
    assert bot.store.broadcasts.get("b1")["status"] == "draft"
    guessed = replies(await bot.send(callback_update(OTHER, "bc:go:b1")), "answerCallbackQuery")[0]
    assert "过期" in guessed["text"]  # the old sequential-id button data confirms nothing
    with bot.store.engine.begin() as connection:  # an hour later
        connection.execute(update(schema.pending).values(expires=time.time() - 1))
    expired = replies(await bot.send(callback_update(ADMIN, confirm)), "answerCallbackQuery")[0]
    assert "过期" in expired["text"]
    assert bot.store.broadcasts.get("b1")["status"] == "draft"
    assert bot.store.deliveries.pending("b1") == []


async def test_confirming_writes_the_deliveries_before_any_telegram_call(bot):  # noqa: F811
    for chat in (5, 6, 7):
        bot.store.subscriptions.subscribe(chat)
    preview = replies(await bot.send(message_update(ADMIN, "/broadcast 通知")))[0]
    confirm = next(data for data in keyboard(preview) if data.startswith("bc:go:"))
    seen: list[tuple[str, dict]] = []
    original = bot.request.do_request

    async def watching(url, method, request_data=None, *args, **kwargs):
        name = url.rsplit("/", 1)[-1]
        if name != "sendMessage" or not seen:
            seen.append((name, bot.store.deliveries.counts("b1")))
        if name == "editMessageReplyMarkup":
            return 502, b'{"ok": false, "error_code": 502, "description": "Bad Gateway"}'
        return await original(url, method, request_data, *args, **kwargs)

    bot.request.do_request = watching
    await bot.send(callback_update(ADMIN, confirm))
    assert seen[0][1] == {"pending": 3}  # all three deliveries written before the first Bot API call
    assert bot.store.broadcasts.get("b1")["status"] in ("running", "done")


async def test_disk_full_answers_still_go_out_admins_get_one_alert_and_writes_say_so(engine, tmp_path: Path):
    store = Store(tmp_path / "data")
    chat = await harness(engine, store, tmp_path)
    try:
        assert "已订阅" in replies(await chat.send(message_update(OTHER, "/subscribe")))[0]["text"]
        with store.engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

        @event.listens_for(store.engine, "connect")
        def full(dbapi_connection, _record):  # SQLite's own "database or disk is full", for real
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        store.engine.dispose()
        def alerts() -> list[dict]:
            return [call for call in chat.request.sent() if call["chat_id"] == ADMIN]

        for number in range(400):  # until the free space left in the file's pages is used up, and then some
            calls = await chat.send(message_update(CITIZEN + number, "质量月是每年几月" + "？" * 400))
            answer = next(call for call in replies(calls) if call["chat_id"] == CITIZEN + number)
            assert "9月" in answer["text"] and "来源" in answer["text"]
            if alerts() and number % 10 == 9:
                break
        assert len(alerts()) == 1 and "磁盘已满" in alerts()[0]["text"]
        for fill in (lambda n: store.subscriptions.subscribe(10**9 + n),
                     lambda n: store.reminders.add(f"fill{n}", "x", 4e9, "staff")):
            with pytest.raises(OperationalError, match="full"):  # the last free bytes of each table's pages
                for number in range(100_000):
                    fill(number)
        assert "无法保存" in replies(await chat.send(message_update(CITIZEN, "/subscribe")))[0]["text"]
        assert len(alerts()) == 1  # still one alert
        scheduled = replies(await chat.send(message_update(ADMIN, f"/schedule {NEXT_YEAR}-09-01 09:00 质量月")))
        assert "无法保存" in scheduled[0]["text"]
    finally:
        await chat.application.shutdown()
        store.close()


async def test_privacy_and_forget_with_a_confirm_button(bot):  # noqa: F811
    bot.application.bot_data["services"].assistant.flood = FloodGuard(10_000, 60)  # this test is not about flooding
    assert "180 天" in (await bot.say(CITIZEN, "/privacy"))[0]
    await bot.say(CITIZEN, "质量月是每年几月")
    await bot.say(CITIZEN, "/subscribe")
    await bot.say(OTHER, "质量月是每年几月")
    prompt = replies(await bot.send(message_update(CITIZEN, "/forget")))[0]
    button = keyboard(prompt)[0]
    assert button.startswith("fg:")
    assert bot.store.questions.count_raw() == 2  # nothing deleted before the button
    assert "不是给您" in replies(await bot.send(callback_update(OTHER, button)), "answerCallbackQuery")[0]["text"]
    done = replies(await bot.send(callback_update(CITIZEN, button)), "editMessageText")[0]
    assert "提问 1 条" in done["text"] and "取消了订阅" in done["text"]
    assert bot.store.questions.count_raw() == 1 and bot.store.subscriptions.active_ids() == []
    assert "过期" in replies(await bot.send(callback_update(CITIZEN, button)), "answerCallbackQuery")[0]["text"]


async def test_staff_actions_are_audited(bot):  # noqa: F811
    await bot.say(ADMIN, "/staff add 3003")
    await bot.say(ADMIN, "/staff remove 3003")
    await bot.say(ADMIN, f"/schedule {NEXT_YEAR}-09-01 09:00 质量月")
    actions = [(row["actor"], row["action"]) for row in reversed(bot.store.audit.recent())]
    assert actions == [(ADMIN, "staff-add"), (ADMIN, "staff-remove"), (ADMIN, "schedule")]


async def test_the_daily_retention_job_prunes_raw_questions_and_keeps_the_counts(bot):  # noqa: F811
    from types import SimpleNamespace

    from bot.faces.telegram.app import prune

    await bot.say(CITIZEN, "质量月是每年几月")
    await bot.say(CITIZEN, "今天天气怎么样")
    with bot.store.engine.begin() as connection:  # asked 181 days ago
        connection.execute(update(schema.questions).values(at=time.time() - 181 * 86400))
    await prune(SimpleNamespace(application=bot.application))
    assert bot.store.questions.count_raw() == 0
    stats = bot.store.questions.stats(0, 0)
    assert (stats.questions, stats.answered) == (2, 1)
