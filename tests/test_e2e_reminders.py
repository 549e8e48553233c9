"""Reminders and broadcasts end to end: the real bot process, restarts, crashes, Telegram's limits."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.store.repositories import Store
from tests.botproc import BotProcess, buttons
from tests.conftest import KNOWLEDGE
from tests.fakes import FakeTelegram

ADMIN = 700001
SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_FLIGHT = 8


@pytest.fixture
def server() -> Iterator[FakeTelegram]:
    with FakeTelegram(token="515151:REMINDER-TEST-TOKEN") as fake:
        yield fake


def subscribe(work: Path, chats: range | list[int]) -> None:
    """Subscribers written straight into the bot's real database before it starts."""
    store = Store(work / "data")
    for chat in chats:
        store.subscriptions.subscribe(chat)
    store.close()


def deliveries(server: FakeTelegram, text: str) -> Counter[int]:
    return Counter(c.params["chat_id"] for c in server.calls
                   if c.method == "sendMessage" and c.ok and c.params.get("text") == text)


def wait_until_delivered(server: FakeTelegram, text: str, chats: set[int], timeout: float = 60) -> None:
    """Waits for each chat's first delivery of `text` (an event per message, no sleeping)."""
    for chat in sorted(chats):
        if deliveries(server, text)[chat]:
            continue
        server.wait_for("sendMessage", lambda c, chat=chat: c.params["chat_id"] == chat and c.ok
                        and c.params.get("text") == text, timeout=timeout, after=0)


def schedule_in(bot: BotProcess, seconds: int, text: str) -> str:
    when = dt.datetime.now(SHANGHAI) + dt.timedelta(seconds=seconds)
    reply = bot.command(ADMIN, f"/schedule {when:%Y-%m-%d %H:%M:%S} {text}")
    assert "已安排提醒" in reply.params["text"], reply.params["text"]
    return reply.params["text"].split("已安排提醒 ")[1].split("：")[0]


def test_a_scheduled_reminder_reaches_every_subscriber_once(server, tmp_path):
    subscribe(tmp_path, range(1, 21))
    bot = BotProcess(server, tmp_path, admins=(ADMIN,)).start()
    try:
        reminder = schedule_in(bot, 3, "质量月提醒：今天开始")
        assert reminder in bot.command(ADMIN, "/reminders").params["text"]
        wait_until_delivered(server, "质量月提醒：今天开始", set(range(1, 21)))
    finally:
        bot.stop()
    counts = deliveries(server, "质量月提醒：今天开始")
    assert set(counts) == set(range(1, 21)) and set(counts.values()) == {1}


def test_a_restart_before_the_time_still_fires_it_once(server, tmp_path):
    subscribe(tmp_path, range(1, 11))
    bot = BotProcess(server, tmp_path, admins=(ADMIN,)).start()
    schedule_in(bot, 8, "重启后的提醒")
    bot.stop()
    bot.start()
    try:
        wait_until_delivered(server, "重启后的提醒", set(range(1, 11)))
    finally:
        bot.stop()
    bot.start()  # and a later restart does not send it again
    bot.stop()
    counts = deliveries(server, "重启后的提醒")
    assert set(counts) == set(range(1, 11)) and set(counts.values()) == {1}


def test_a_reminder_missed_beyond_the_grace_period_is_recorded_not_sent(server, tmp_path):
    subscribe(tmp_path, [1, 2])
    store = Store(tmp_path / "data")
    past = dt.datetime.now(SHANGHAI) - dt.timedelta(hours=2)
    store.reminders.add("s1", "过期的提醒", past.timestamp(), kind="staff", created_by=ADMIN)
    store.reminders.add("s2", "宽限期内的提醒", (past + dt.timedelta(minutes=90)).timestamp(), kind="staff")
    store.close()
    bot = BotProcess(server, tmp_path, admins=(ADMIN,), QBOT_MISFIRE_GRACE="1h").start()
    try:
        wait_until_delivered(server, "宽限期内的提醒", {1, 2})
        listing = bot.command(ADMIN, "/reminders").params["text"]
        assert "错过的提醒" in listing and "s1" in listing
    finally:
        bot.stop()
    assert not deliveries(server, "过期的提醒")


def test_broadcast_with_429s_and_blocked_chats(server, tmp_path):
    chats = list(range(1, 501))
    blocked = {13, 77, 250, 251, 499}
    subscribe(tmp_path, chats)
    for chat in blocked:
        server.block_chat(chat)
    bot = BotProcess(server, tmp_path, admins=(ADMIN,), QBOT_BROADCAST_RATE="300").start()
    try:
        assert "仅限" in bot.command(600001, "/broadcast 不该发出").params["text"]
        preview = bot.command(ADMIN, "/broadcast 质量月全市活动通知")
        assert "500 位订阅者" in preview.params["text"]
        confirm = next(data for data in buttons(preview) if data.startswith("bc:go:"))
        forged = bot.press(600001, preview.result, confirm)  # a citizen pressing the staff button
        assert "仅限" in forged.params["text"]
        for chat in (1, 2, 300):
            server.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=chat)
        mark = server.mark()
        bot.press(ADMIN, preview.result, confirm)
        report = server.wait_for("editMessageText", lambda c: "完成" in c.params.get("text", ""), timeout=60,
                                 after=mark)
        assert any("已处理 0/500" in c.params.get("text", "") for c in server.calls[mark:])  # progress shown
        assert "成功 495" in report.params["text"] and "已屏蔽 5" in report.params["text"]
        assert bot.press(ADMIN, preview.result, confirm).params["text"]  # a second press starts nothing
    finally:
        bot.stop()
    counts = deliveries(server, "质量月全市活动通知")
    assert set(counts) == set(chats) - blocked and set(counts.values()) == {1}
    assert not deliveries(server, "不该发出")
    store = Store(tmp_path / "data")
    assert not blocked & set(store.subscriptions.active_ids())


def test_killed_mid_broadcast_and_restarted_finishes_without_skipping(server, tmp_path):
    chats = list(range(1, 2001))
    subscribe(tmp_path, chats)
    bot = BotProcess(server, tmp_path, admins=(ADMIN,), QBOT_BROADCAST_RATE="250").start()
    text = "质量月倒计时通知"
    preview = bot.command(ADMIN, f"/broadcast {text}")
    bot.press(ADMIN, preview.result, next(data for data in buttons(preview) if data.startswith("bc:go:")))
    server.wait_for("sendMessage", lambda c: c.params.get("text") == text and c.params["chat_id"] == 600,
                    timeout=60, after=0)
    bot.stop(kill=True)
    before = deliveries(server, text)
    assert 0 < len(before) < len(chats)
    bot.start()
    try:
        wait_until_delivered(server, text, set(chats))
        # The progress message died with the first process: the staff member gets the report anew.
        report = server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN
                                 and "完成" in c.params.get("text", ""), timeout=60, after=0)
        assert "共 2000" in report.params["text"]
    finally:
        bot.stop()
    counts = deliveries(server, text)
    assert set(counts) == set(chats)
    assert sum(count - 1 for count in counts.values()) <= IN_FLIGHT


def test_a_broadcast_confirmed_while_telegram_fails_or_the_bot_dies_is_never_stuck(server, tmp_path):
    """Issue 13, item 1: the edit after 确认发送 fails (502), and the bot is killed right then; on
    restart the broadcast resumes from its deliveries and the staff member gets the final report."""
    subscribe(tmp_path, range(1, 21))
    bot = BotProcess(server, tmp_path, admins=(ADMIN,)).start()
    text = "确认后出错的通知"
    try:
        preview = bot.command(ADMIN, f"/broadcast {text}")
        confirm = next(data for data in buttons(preview) if data.startswith("bc:go:"))
        for method in ("answerCallbackQuery", "editMessageReplyMarkup"):
            server.fail_next(method, 502, "Bad Gateway", times=50)
        bot.press(ADMIN, preview.result, confirm)  # returns when the (failing) answerCallbackQuery is seen
    finally:
        bot.stop(kill=True)
    mark = server.mark()
    bot.start()
    try:
        wait_until_delivered(server, text, set(range(1, 21)))
        report = server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN and "完成" in c.params["text"],
                                 timeout=60, after=mark)
        assert "成功 20" in report.params["text"]
    finally:
        bot.stop()
    assert set(deliveries(server, text)) == set(range(1, 21))


def test_schedule_confirms_seconds_shows_a_future_example_and_tells_staff_when_sent(server, tmp_path):
    subscribe(tmp_path, range(1, 4))
    bot = BotProcess(server, tmp_path, admins=(ADMIN,)).start()
    try:
        usage = bot.command(ADMIN, "/schedule").params["text"]
        tomorrow = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
        assert f"/schedule {tomorrow:%Y-%m-%d} 09:00" in usage, usage
        when = dt.datetime.now(SHANGHAI).replace(microsecond=0) + dt.timedelta(seconds=3)
        mark = server.mark()
        reply = bot.command(ADMIN, f"/schedule {when:%Y-%m-%d %H:%M:%S} 秒级提醒")
        assert f"{when:%Y-%m-%d %H:%M:%S}" in reply.params["text"], reply.params["text"]
        reminder = reply.params["text"].split("已安排提醒 ")[1].split("：")[0]
        wait_until_delivered(server, "秒级提醒", {1, 2, 3})
        told = server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN
                               and "已发出" in c.params.get("text", ""), timeout=30, after=mark)
        assert told.params["text"] == f"您安排的提醒 {reminder} 已发出：成功 3，已屏蔽 0，失败 0，共 3。"
    finally:
        bot.stop()


def test_an_uploaded_calendar_changes_the_coming_reminders_without_a_restart(server, tmp_path):
    shutil.copytree(KNOWLEDGE, tmp_path / "knowledge")
    bot = BotProcess(server, tmp_path, admins=(ADMIN,), QBOT_KNOWLEDGE_DIR=str(tmp_path / "knowledge"),
                     QBOT_WATCH_SECONDS="3600").start()
    try:
        before = bot.command(ADMIN, "/reminders").params["text"]
        assert "cal-week-before-" in before and "【质量月预告】" in before, before
        calendar = (tmp_path / "knowledge" / "calendar.yaml").read_text(encoding="utf-8")
        revised = calendar.replace("【质量月预告】", "【预告·新版】").replace('date: "08-25"', 'date: "08-26"')
        revised += ('\n  - id: october-review\n    date: "10-08"\n    time: "09:30"\n'
                    '    text: "质量月回顾：{year}年的活动已经结束。"\n')
        mark = server.mark()
        server.push_document(ADMIN, "calendar.yaml", revised.encode("utf-8"))
        summary = server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN, timeout=60, after=mark)
        button = next(data for data in buttons(summary) if data.startswith("up:go:"))
        mark = server.mark()
        server.push_callback(ADMIN, summary.result, button)
        done = server.wait_for("editMessageText", lambda c: c.params["chat_id"] == ADMIN, timeout=60, after=mark)
        assert "已更新知识库" in done.params["text"], done.params["text"]
        after = bot.command(ADMIN, "/reminders").params["text"]
        # The week-before reminder moved a day and took the new words; the old occurrence is gone; the new
        # rule is scheduled. No restart in between.
        assert "【预告·新版】" in after and "【质量月预告】" not in after, after
        assert "-08-26 09:00" in after and "-08-25" not in after, after
        assert "cal-october-review-" in after, after
    finally:
        bot.stop()
