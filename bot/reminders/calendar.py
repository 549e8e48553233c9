"""When each Quality Month reminder fires: date arithmetic over a calendar from the knowledge.

Pure core: no Telegram, no clock, no I/O. The caller passes the time zone and "now"; delivery and
de-duplication live elsewhere and use `occurrence_key` to recognise a reminder they already sent.
The file format and its checks belong to the knowledge (`bot.knowledge.calendar_file`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from bot import strings
from bot.knowledge.model import Calendar, CalendarRule

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

def _dates(rule: CalendarRule, start: dt.date) -> Iterator[dt.date]:
    """Every local date on or after `start` the rule falls on, in order."""
    assert rule.month is not None  # guaranteed by CalendarRule.__post_init__
    for year in range(start.year, dt.MAXYEAR):
        if rule.day is not None:
            try:
                day = dt.date(year, rule.month, rule.day)
            except ValueError:  # 02-29 outside a leap year: skip the year
                continue
            if day >= start:
                yield day
            continue
        assert rule.weekday is not None
        first = dt.date(year, rule.month, 1)
        day = first + dt.timedelta(days=(rule.weekday - first.weekday()) % 7)
        while day.month == rule.month:
            if day >= start:
                yield day
            day += dt.timedelta(days=7)


def _wall(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None)


def _end_of_gap(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first instant whose local wall time is at or after `local`, a time the clocks skip.

    Inside a gap PEP 495 reads fold=1 with the offset after the change (an instant before the gap ends)
    and fold=0 with the offset before it (an instant after): the change lies between, found to the second.
    """
    low = int(local.replace(fold=1).timestamp())
    high = int(local.replace(fold=0).timestamp())
    low, high = min(low, high), max(low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(dt.datetime.fromtimestamp(middle, tz)) >= _wall(local):
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, tz)


def _at(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The instant `time` on `day` in `tz`: the earlier one if the clocks go back, the gap's end if they skip it."""
    local = dt.datetime.combine(day, time, tzinfo=tz)  # fold=0: the first of two repeated instants
    if _wall(local.astimezone(dt.UTC).astimezone(tz)) == _wall(local):
        return local
    return _end_of_gap(local, tz)


def next_occurrence(rule: CalendarRule, tz: ZoneInfo, after: dt.datetime) -> dt.datetime:
    """The first time the rule fires strictly after `after` (aware), as an aware datetime in `tz`."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("'after' must be a timezone-aware datetime")
    # Compare in UTC: aware datetimes sharing one tzinfo compare by wall time, which is wrong when
    # the clocks go back and the same wall time happens twice.
    after_utc = after.astimezone(dt.UTC)
    # A day early, because near a change of offset an occurrence dated yesterday can still be ahead.
    start = after_utc.astimezone(tz).date() - dt.timedelta(days=1)
    for day in _dates(rule, start):
        when = _at(day, rule.time, tz)
        if when.astimezone(dt.UTC) > after_utc:
            return when
    raise ValueError(f"reminder '{rule.id}' has no occurrence after {after.isoformat()}")


def upcoming(calendar: Calendar, tz: ZoneInfo, after: dt.datetime) -> list[tuple[CalendarRule, dt.datetime]]:
    """The next occurrence of every rule, soonest first (ties by id, so the order is stable)."""
    pairs = [(rule, next_occurrence(rule, tz, after)) for rule in calendar.rules]
    return sorted(pairs, key=lambda pair: (pair[1].astimezone(dt.UTC), pair[0].id))


def occurrence_text(rule: CalendarRule, calendar: Calendar, when: dt.datetime) -> str:
    """The message for the occurrence at `when` (local to the calendar's zone): placeholders filled in."""
    theme = calendar.theme(when.year)
    values = {"year": str(when.year), "theme_line": strings.THEME_LINE.format(theme=theme) if theme else ""}
    # A substitution, not str.format: admin text must not reach format's attribute and index lookups.
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), rule.text).strip()


def occurrence_key(rule: CalendarRule, when: dt.datetime) -> str:
    """A stable name for one occurrence, so a restart or a reload never sends it twice."""
    return f"cal-{rule.id}-{when:%Y%m%d}"
