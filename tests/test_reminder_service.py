"""Reminder bookkeeping: /schedule parsing, the grace period at start, firing exactly once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot import strings
from bot.broadcasts.broadcaster import Broadcaster
from bot.knowledge.calendar_file import parse_calendar
from bot.reminders.service import ReminderService, ScheduleError
from bot.store.repositories import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 8, 20, 12, 0, tzinfo=SHANGHAI)
CALENDAR = """reminders:
  - id: opening
    date: "09-01"
    time: "09:00"
    text: "{year}年质量月今天开始。{theme_line}"
themes:
  2026: 示例主题
"""


class NullSender:
    async def send(self, chat_id: int, text: str) -> None:
        return None


@pytest.fixture
def service(store: Store) -> ReminderService:
    calendar, problems = parse_calendar("calendar.yaml", CALENDAR)
    assert not problems
    broadcaster = Broadcaster(store, NullSender())
    return ReminderService(store, broadcaster, SHANGHAI, dt.timedelta(hours=6), calendar=lambda: calendar)


def test_schedule_accepts_a_future_local_time(service):
    reminder = service.schedule("2026-09-01 09:30 质量月今天开始", created_by=7, now=NOW)
    assert reminder["id"] == "s1" and reminder["text"] == "质量月今天开始"
    assert service.when(reminder) == dt.datetime(2026, 9, 1, 9, 30, tzinfo=SHANGHAI)
    assert service.schedule("2026-09-02 09:30 第二条", created_by=7, now=NOW)["id"] == "s2"


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("2026-08-20 11:59 已经过去", "时间已过"),
        ("2026-02-30 09:00 不存在的日期", "日期或时间不存在"),
        ("2026-09-01 25:00 不存在的时间", "日期或时间不存在"),
        ("明天早上 提醒", "格式"),
        ("2026-09-01 09:00", "格式"),
        ("", "格式"),
    ],
)
def test_schedule_errors_are_clear(service, request_text, message):
    with pytest.raises(ScheduleError) as refused:
        service.schedule(request_text, created_by=7, now=NOW)
    assert message in strings.SCHEDULE_ERRORS[refused.value.reason].format(**refused.value.values)
    assert service.scheduled() == []


def test_calendar_occurrences_are_added_once_with_the_years_theme(service):
    added = service.sync_calendar(NOW)
    assert added == ["cal-opening-20260901"]
    assert service.sync_calendar(NOW) == []  # idempotent
    reminder = service.scheduled()[0]
    assert reminder["text"] == "2026年质量月今天开始。今年“质量月”的主题是“示例主题”。"
    later = dt.datetime(2026, 9, 2, tzinfo=SHANGHAI)
    assert service.sync_calendar(later) == ["cal-opening-20270901"]  # next year's, after this one passed


def test_reminders_late_within_grace_fire_and_older_ones_are_missed(service):
    store = service.store
    store.reminders.add("s1", "七小时前", (NOW - dt.timedelta(hours=7)).timestamp(), kind="staff")
    store.reminders.add("s2", "一小时前", (NOW - dt.timedelta(hours=1)).timestamp(), kind="staff")
    store.reminders.add("s3", "明天", (NOW + dt.timedelta(days=1)).timestamp(), kind="staff")
    due = service.due_at_start(NOW)
    assert due.fire_now == ["s2"] and due.missed == ["s1"]
    assert [row["id"] for row in service.missed()] == ["s1"]


def test_firing_is_idempotent(service):
    store = service.store
    store.subscriptions.subscribe(5)
    store.reminders.add("s1", "提醒", NOW.timestamp(), kind="staff")
    assert service.fire("s1") == "r-s1"
    assert service.fire("s1") is None
    assert store.broadcasts.get("r-s1")["status"] == "running"
    assert service.unfinished_broadcasts() == ["r-s1"]


def test_cancel_a_reminder_or_a_draft_broadcast(service):
    store = service.store
    store.reminders.add("s1", "提醒", (NOW + dt.timedelta(days=1)).timestamp(), kind="staff")
    store.broadcasts.create("b1", "通知", created_by=1)
    assert service.cancel("s1") and not service.cancel("s1")
    assert service.cancel("b1")
    assert not service.cancel("nothing")


def test_new_knowledge_revises_unsent_occurrences_withdraws_dropped_ones_and_spares_sent_ones(service):
    service.sync_calendar(NOW)
    service.store.reminders.add("cal-gone-20260825", "旧规则", NOW.timestamp() + 86400, kind="calendar")
    service.store.reminders.add("cal-done-20260819", "已发送", NOW.timestamp() - 86400, kind="calendar")
    service.store.reminders.set_status("cal-done-20260819", "sent")
    revised, problems = parse_calendar("calendar.yaml", CALENDAR.replace("今天开始", "正式开幕")
                                       .replace('"09:00"', '"10:30"'))
    assert not problems
    changed = service.resync_calendar(revised, NOW)
    assert [reminder["id"] for reminder in changed] == ["cal-opening-20260901"]
    opening = service.store.reminders.get("cal-opening-20260901")
    assert opening["text"].startswith("2026年质量月正式开幕")
    assert service.when(opening) == dt.datetime(2026, 9, 1, 10, 30, tzinfo=SHANGHAI)
    assert service.store.reminders.get("cal-gone-20260825")["status"] == "cancelled"
    assert service.store.reminders.get("cal-done-20260819")["status"] == "sent"
    assert service.resync_calendar(revised, NOW) == []  # nothing left to change
