"""Reminders: calendar occurrences and staff one-offs, fired once each into broadcasts.

The face registers a job per scheduled reminder (fixed job id = reminder id, so a restart or a
second registration never duplicates it) and calls `fire` when it runs. Firing is one transaction:
the reminder moves from scheduled to sent only if it is still scheduled (one caller wins, also
across instances sharing a database) together with creating its broadcast and deliveries.
Methods here do store I/O: the face runs them on the store's threads.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot import strings
from bot.audit import audit
from bot.broadcasts.broadcaster import Broadcaster
from bot.reminders.calendar import Calendar, occurrence_key, render, upcoming
from bot.store.repositories import Store

log = logging.getLogger(__name__)
_SCHEDULE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(.+)$", re.S)
MAX_TEXT = 3500
MAX_AHEAD = dt.timedelta(days=731)  # two years: further is a typo (9999-12-31), and would sit in the store forever


class ScheduleError(ValueError):
    """A /schedule request that cannot be accepted; the message says why (Chinese, for staff)."""


@dataclass(frozen=True)
class Due:
    fire_now: list[str]
    missed: list[str]


class ReminderService:
    def __init__(self, store: Store, broadcaster: Broadcaster, tz: ZoneInfo, grace: dt.timedelta,
                 calendar: Callable[[], Calendar]) -> None:
        self.store = store
        self.broadcaster = broadcaster
        self.tz = tz
        self.grace = grace
        self.calendar = calendar

    # --- scheduling -------------------------------------------------------------------------
    def sync_calendar(self, now: dt.datetime) -> list[str]:
        """Adds each calendar rule's next occurrence (next year's once this year's has passed)."""
        calendar = self.calendar()
        added = []
        for rule, when in upcoming(calendar, self.tz, now):
            key = occurrence_key(rule, when)
            if self.store.reminders.add(key, render(rule, calendar, when), when.timestamp(), kind="calendar"):
                added.append(key)
        return added

    def schedule(self, request: str, created_by: int, now: dt.datetime) -> dict[str, Any]:
        """Parses 'YYYY-MM-DD HH:MM text' in the bot's time zone and stores a one-off reminder."""
        match = _SCHEDULE.match(request or "")
        if not match:
            example = f"{now + dt.timedelta(days=1):%Y-%m-%d} 09:00"  # always in the future
            raise ScheduleError(strings.SCHEDULE_USAGE.format(example=example))
        year, month, day, hour, minute = (int(part) for part in match.groups()[:5])
        second = int(match.group(6) or 0)
        text = match.group(7).strip()
        try:
            when = dt.datetime(year, month, day, hour, minute, second, tzinfo=self.tz)
        except ValueError:
            raise ScheduleError(f"日期或时间不存在：{match.group(1)}-{match.group(2)}-{match.group(3)} "
                                f"{match.group(4)}:{match.group(5)}") from None
        if when <= now:
            shown = f"{when:%Y-%m-%d %H:%M:%S}" if match.group(6) else f"{when:%Y-%m-%d %H:%M}"
            raise ScheduleError(f"时间已过：{shown}（{self.tz.key}）。请填写将来的时间。")
        if when - now > MAX_AHEAD:
            raise ScheduleError(strings.SCHEDULE_TOO_FAR.format(when=f"{when:%Y-%m-%d}",
                                                                limit=f"{now + MAX_AHEAD:%Y-%m-%d}"))
        if len(text) > MAX_TEXT:
            raise ScheduleError(f"提醒内容太长（{len(text)} 字），请控制在 {MAX_TEXT} 字以内。")
        reminder_id = f"s{self.store.reminders.next_staff_number()}"
        while not self.store.reminders.add(reminder_id, text, when.timestamp(), kind="staff", created_by=created_by):
            reminder_id = f"s{int(reminder_id[1:]) + 1}"
        audit("reminder.scheduled", id=reminder_id, by=created_by, at=when.isoformat())
        return self.store.reminders.get(reminder_id) or {}

    def scheduled(self) -> list[dict[str, Any]]:
        return self.store.reminders.with_status("scheduled")

    def missed(self) -> list[dict[str, Any]]:
        return self.store.reminders.with_status("missed")

    def cancel(self, item_id: str) -> bool:
        """Cancels a scheduled reminder, or a broadcast that is waiting or running."""
        if self.store.reminders.set_status(item_id, "cancelled", only_if="scheduled"):
            return True
        return self.broadcaster.cancel(item_id)

    def when(self, reminder: dict[str, Any]) -> dt.datetime:
        return dt.datetime.fromtimestamp(reminder["fire_at"], self.tz)

    # --- firing -----------------------------------------------------------------------------
    def due_at_start(self, now: dt.datetime) -> Due:
        """Reminders whose time passed while the bot was down: fire those within the grace period,
        record the rest as missed."""
        fire_now, missed = [], []
        for reminder in self.scheduled():
            late = now - self.when(reminder)
            if late < dt.timedelta(0):
                continue
            if late <= self.grace:
                fire_now.append(reminder["id"])
            elif self.store.reminders.set_status(reminder["id"], "missed", only_if="scheduled"):
                log.warning("reminder %s missed by %s (grace %s)", reminder["id"], late, self.grace)
                missed.append(reminder["id"])
        return Due(fire_now, missed)

    def fire(self, reminder_id: str) -> str | None:
        """Turns a due reminder into a running broadcast with its deliveries, in one transaction that
        only one caller wins; None if it is not scheduled any more."""
        broadcast_id = f"r-{reminder_id}"
        if not self.store.fire_reminder(reminder_id, broadcast_id):
            return None
        audit("reminder.fired", id=reminder_id, broadcast=broadcast_id)
        return broadcast_id

    def unfinished_broadcasts(self) -> list[str]:
        """Broadcasts a crash or restart interrupted: they resume from their deliveries."""
        return [row["id"] for row in self.store.broadcasts.with_status("running")]
