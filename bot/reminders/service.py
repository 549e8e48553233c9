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

from sqlalchemy.exc import SQLAlchemyError

from bot.audit import audit
from bot.broadcasts.broadcaster import Broadcaster
from bot.confirmations import StoreFailed, StoreUnavailable, ignore_failure
from bot.knowledge.model import Calendar, Snapshot
from bot.reminders.calendar import occurrence_key, occurrence_text, upcoming
from bot.store.repositories import Store

log = logging.getLogger(__name__)
_SCHEDULE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(.+)$", re.S)
MAX_TEXT = 3500
MAX_AHEAD = dt.timedelta(days=731)  # two years: further is a typo (9999-12-31), and would sit in the store forever


class ScheduleError(ValueError):
    """A /schedule request that cannot be accepted. `reason`: usage | no_such_time | past | too_far |
    too_long; the faces word it (strings.SCHEDULE_ERRORS) with `values`."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class Due:
    fire_now: list[str]
    missed: list[str]


class ReminderService:
    def __init__(self, store: Store, broadcaster: Broadcaster, tz: ZoneInfo, grace: dt.timedelta,
                 calendar: Callable[[], Calendar], failed: StoreFailed | None = None) -> None:
        self.store = store
        self.broadcaster = broadcaster
        self.tz = tz
        self.grace = grace
        self.calendar = calendar
        self.failed: StoreFailed = failed or ignore_failure  # given by build_services: tells admins once
        # Set by a face that runs jobs: told which reminders to (re)register after a knowledge change.
        self.rescheduled: Callable[[list[dict[str, Any]]], None] | None = None

    # --- scheduling -------------------------------------------------------------------------
    def sync_calendar(self, now: dt.datetime) -> list[str]:
        """Adds each calendar rule's next occurrence (next year's once this year's has passed)."""
        calendar = self.calendar()
        added = []
        for rule, when in upcoming(calendar, self.tz, now):
            key = occurrence_key(rule, when)
            if self.store.reminders.add(key, occurrence_text(rule, calendar, when), when.timestamp(), kind="calendar"):
                added.append(key)
        return added

    def resync_calendar(self, calendar: Calendar, now: dt.datetime) -> list[dict[str, Any]]:
        """After the knowledge changed: calendar occurrences not sent yet take the new text and time,
        those the calendar no longer has are cancelled, new ones are added. Occurrences already due
        are left to firing. Returns the reminders whose job must be (re)registered."""
        wanted = {occurrence_key(rule, when): (occurrence_text(rule, calendar, when), when.timestamp())
                  for rule, when in upcoming(calendar, self.tz, now)}
        touched = []
        for reminder in self.scheduled():
            if reminder["kind"] != "calendar" or reminder["fire_at"] <= now.timestamp():
                continue
            key = reminder["id"]
            if key not in wanted:
                if self.store.reminders.set_status(key, "cancelled", only_if="scheduled"):
                    audit("reminder.withdrawn", id=key)
            elif (reminder["text"], reminder["fire_at"]) != wanted[key] and self.store.reminders.revise(
                    key, *wanted[key]):
                touched.append(key)
        for key, (text, fire_at) in wanted.items():
            if self.store.reminders.add(key, text, fire_at, kind="calendar"):
                touched.append(key)
        return [reminder for key in touched if (reminder := self.store.reminders.get(key))]

    def knowledge_changed(self, snapshot: Snapshot) -> None:
        """Listener of the live knowledge (runs on the thread that swapped it)."""
        changed = self.resync_calendar(snapshot.calendar, dt.datetime.now(self.tz))
        if changed and self.rescheduled is not None:
            self.rescheduled(changed)

    def schedule(self, request: str, created_by: int, now: dt.datetime) -> dict[str, Any]:
        """Parses 'YYYY-MM-DD HH:MM text' in the bot's time zone and stores a one-off reminder."""
        match = _SCHEDULE.match(request or "")
        if not match:
            example = f"{now + dt.timedelta(days=1):%Y-%m-%d} 09:00"  # always in the future
            raise ScheduleError("usage", example=example)
        year, month, day, hour, minute = (int(part) for part in match.groups()[:5])
        second = int(match.group(6) or 0)
        text = match.group(7).strip()
        try:
            when = dt.datetime(year, month, day, hour, minute, second, tzinfo=self.tz)
        except ValueError:
            raise ScheduleError("no_such_time", when=f"{match.group(1)}-{match.group(2)}-{match.group(3)} "
                                                     f"{match.group(4)}:{match.group(5)}") from None
        if when <= now:
            shown = f"{when:%Y-%m-%d %H:%M:%S}" if match.group(6) else f"{when:%Y-%m-%d %H:%M}"
            raise ScheduleError("past", when=shown, zone=self.tz.key)
        if when - now > MAX_AHEAD:
            raise ScheduleError("too_far", when=f"{when:%Y-%m-%d}", limit=f"{now + MAX_AHEAD:%Y-%m-%d}")
        if len(text) > MAX_TEXT:
            raise ScheduleError("too_long", size=len(text), limit=MAX_TEXT)
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

    # --- for the faces: the same, on the store's threads ----------------------------------------
    async def schedule_request(self, request: str, user_id: int) -> dict[str, Any]:
        """A staff member's /schedule; ScheduleError says why it is refused, StoreUnavailable that it
        could not be saved."""
        try:
            reminder = await self.store.call(self.schedule, request, user_id, dt.datetime.now(self.tz))
            await self.store.call(self.store.audit.add, user_id, "schedule", reminder["id"], reminder["text"][:200])
        except (SQLAlchemyError, OSError) as error:
            log.error("could not save a reminder: %s", error.__class__.__name__)
            await self.failed(error, "schedule")
            raise StoreUnavailable("schedule") from error
        return reminder

    async def listing(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Scheduled reminders, and those missed while the bot was down."""
        return await self.store.call(lambda: (self.scheduled(), self.missed()))

    async def cancel_item(self, item_id: str, user_id: int | None) -> bool:
        cancelled = await self.store.call(self.cancel, item_id)
        if cancelled:
            audit("cancelled", id=item_id, by=user_id)
            await self.store.call(self.store.audit.add, user_id, "cancel", item_id, "")
        return cancelled

    async def creator(self, reminder_id: str) -> int | None:
        """The staff member who scheduled a reminder (None for calendar occurrences)."""
        reminder = await self.store.call(self.store.reminders.get, reminder_id) or {}
        return reminder.get("created_by")

    async def fire_due(self, reminder_id: str) -> tuple[str | None, list[dict[str, Any]]]:
        """Fires a reminder whose job ran: its broadcast id (None if another caller fired it), and the
        calendar occurrences added after it (next year's)."""
        broadcast_id = await self.store.call(self.fire, reminder_id)

        def added() -> list[dict[str, Any]]:
            keys = self.sync_calendar(dt.datetime.now(self.tz))
            return [row for key in keys if (row := self.store.reminders.get(key))]

        return broadcast_id, await self.store.call(added)

    async def start(self) -> Startup:
        """At start: schedule the calendar, fire what is due within the grace period (record the rest as
        missed), and find broadcasts a restart interrupted."""
        now = dt.datetime.now(self.tz)

        def prepare() -> Startup:
            self.sync_calendar(now)
            due = self.due_at_start(now)
            unfinished = [row for key in self.unfinished_broadcasts() if (row := self.store.broadcasts.get(key))]
            fired = [key for key in map(self.fire, due.fire_now) if key]
            return Startup(unfinished, fired, self.scheduled())

        return await self.store.call(prepare)

    async def shared_state(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Running broadcasts and scheduled reminders, as every instance sees them."""
        return await self.store.call(lambda: (self.store.broadcasts.with_status("running"), self.scheduled()))


@dataclass(frozen=True)
class Startup:
    unfinished: list[dict[str, Any]]  # broadcasts to resume
    fired: list[str]  # broadcasts of reminders fired now, late but within the grace period
    scheduled: list[dict[str, Any]]  # reminders to register jobs for
