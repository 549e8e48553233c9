"""The Quality Month reminder calendar: reads `calendar.yaml` and works out when each reminder fires.

Pure core: no Telegram, no clock, no I/O. The caller passes the time zone and "now"; delivery and
de-duplication live elsewhere and use `occurrence_key` to recognise a reminder they already sent.

File format (times are local to the configured zone):

    themes:                 # optional: national Quality Month theme by year, for {theme_line}
      2017: 大力提升质量，建设质量强国
    reminders:
      - id: week-before
        date: "08-25"       # every year on this month-day, OR month: 9 + weekday: monday
        time: "09:00"
        text: "{year}年全国“质量月”将于9月1日开始。{theme_line}"
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import ZoneInfo

import yaml

# The calendar shares the entry files' node-tree reader so it refuses aliases, duplicate keys and
# deep nesting in exactly the same way.
from bot import strings
from bot.knowledge.schema import NodeReader, Problem, compose_checked

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ID_LIMIT = 40
_TEXT_LIMIT = 1000
_THEME_LIMIT = 100
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")
# The first national Quality Month was held in September 1978; earlier years cannot have a theme.
_FIRST_YEAR, _LAST_YEAR = 1978, 2100
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDERS = ("year", "theme_line")
THEME_LINE = "今年“质量月”的主题是“{theme}”。"

_TOP_LEVEL = ("themes", "reminders")
_FIELDS = ("id", "date", "month", "weekday", "time", "text")
_REQUIRED = ("id", "time", "text")
_WEEKDAY_NAMES = (
    ("monday", "周一", "星期一"),
    ("tuesday", "周二", "星期二"),
    ("wednesday", "周三", "星期三"),
    ("thursday", "周四", "星期四"),
    ("friday", "周五", "星期五"),
    ("saturday", "周六", "星期六"),
    ("sunday", "周日", "星期日", "周天", "星期天"),
)
_WEEKDAYS = {name: number for number, names in enumerate(_WEEKDAY_NAMES) for name in names}
_NULL_TAG = "tag:yaml.org,2002:null"
_T = TypeVar("_T")


@dataclass(frozen=True)
class CalendarRule:
    """One reminder: every year on month-day, or on every given weekday of a month, at a local time."""

    id: str
    text: str
    time: dt.time
    path: str
    line: int
    month: int | None = None
    day: int | None = None
    weekday: int | None = None  # 0 = Monday, as in datetime.weekday()

    def __post_init__(self) -> None:
        # Exactly one schedule shape, so next_occurrence never has to guess.
        if self.month is None or (self.day is None) == (self.weekday is None):
            raise ValueError(f"reminder '{self.id}' needs month + day or month + weekday")


@dataclass(frozen=True)
class Calendar:
    """All valid reminders of one knowledge version; immutable, swapped whole with the Snapshot."""

    rules: tuple[CalendarRule, ...] = ()
    # (year, theme) pairs sorted by year: a tuple keeps the calendar frozen and hashable.
    themes: tuple[tuple[int, str], ...] = ()

    def theme(self, year: int) -> str | None:
        return next((theme for theme_year, theme in self.themes if theme_year == year), None)


# --- parsing ------------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(name: str, node: yaml.Node) -> str | None:
    """The stripped text of a scalar, None for an empty value.

    Works on the source text rather than PyYAML's resolved value: YAML 1.1 reads an unquoted 10:00 as the
    base-60 integer 600 (but 09:00 as text) and `no` as False; admins should not have to quote around that.
    """
    if not isinstance(node, yaml.ScalarNode):
        raise ValueError(strings.P_SINGLE_VALUE.format(name=name))
    if node.tag == _NULL_TAG:
        return None
    return str(node.value).strip()


def _check_id(value: str) -> str:
    if not _ID.match(value) or len(value) > _ID_LIMIT:
        raise ValueError(strings.P_BAD_CAL_ID.format(value=repr(value), limit=_ID_LIMIT))
    return value


def _check_month_day(value: str) -> tuple[int, int]:
    if not (match := _MONTH_DAY.match(value)):
        raise ValueError(strings.P_BAD_MONTH_DAY.format(value=repr(value)))
    month, day = int(match[1]), int(match[2])
    try:
        dt.date(2000, month, day)  # a leap year, so "02-29" is accepted (it fires in leap years only)
    except ValueError as error:
        raise ValueError(strings.P_BAD_DATE_DETAIL.format(value=repr(value), error=error)) from None
    return month, day


def _check_month(value: str) -> int:
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 12:
        raise ValueError(strings.P_BAD_MONTH.format(value=repr(value)))
    return int(value)


def _check_weekday(value: str) -> int:
    weekday = _WEEKDAYS.get(value.lower())
    if weekday is None:
        raise ValueError(strings.P_BAD_WEEKDAY.format(value=repr(value)))
    return weekday


def _check_time(value: str) -> dt.time:
    match = _CLOCK.match(value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(strings.P_BAD_TIME.format(value=repr(value)))
    return dt.time(int(match[1]), int(match[2]))


def _check_text(value: str) -> str:
    if len(value) > _TEXT_LIMIT:
        raise ValueError(strings.P_CAL_TEXT_TOO_LONG.format(length=len(value), limit=_TEXT_LIMIT))
    unknown = sorted({name for name in _PLACEHOLDER.findall(value) if name not in _PLACEHOLDERS})
    allowed = ", ".join(f"{{{name}}}" for name in _PLACEHOLDERS)
    if unknown:
        listed = ", ".join(f"{{{name}}}" for name in unknown)
        raise ValueError(strings.P_UNKNOWN_PLACEHOLDER.format(listed=listed, allowed=allowed))
    # A lone brace is almost always a mistyped placeholder that would otherwise be sent as is.
    if any(brace in _PLACEHOLDER.sub("", value) for brace in "{}"):
        raise ValueError(strings.P_UNMATCHED_BRACE.format(allowed=allowed))
    return value


def _themes(reader: NodeReader, node: yaml.Node) -> tuple[tuple[int, str], ...]:
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
        return ()
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, strings.P_THEMES_NOT_MAPPING)
        return ()
    themes: dict[int, str] = {}
    for key, value in node.value:
        year = key.value if isinstance(key, yaml.ScalarNode) else None
        if not isinstance(year, str) or not _YEAR.match(year) or not _FIRST_YEAR <= int(year) <= _LAST_YEAR:
            reader.fail(key, strings.P_BAD_THEME_YEAR.format(value=repr(year), first=_FIRST_YEAR, last=_LAST_YEAR))
            continue
        try:
            theme = _scalar(f"themes.{year}", value)
        except ValueError as error:
            reader.fail(value, str(error))
            continue
        if not theme:
            reader.fail(key, strings.P_EMPTY_THEME.format(year=year))
        elif len(theme) > _THEME_LIMIT:
            reader.fail(key, strings.P_THEME_TOO_LONG.format(year=year, length=len(theme), limit=_THEME_LIMIT))
        else:
            themes[int(year)] = theme
    return tuple(sorted(themes.items()))


def _rule(reader: NodeReader, item: yaml.MappingNode) -> CalendarRule | None:
    """Validates one reminder; reports every problem and returns None if there is any."""
    path, line = reader.path, _line(item)
    before = len(reader.problems)
    values: dict[str, str | None] = {}
    lines: dict[str, int] = {}

    def fail(name: str | None, message: str) -> None:
        reader.problems.append(Problem(path, lines.get(name, line) if name else line, message))

    for key, value in item.value:
        name = str(key.value)
        lines[name] = _line(key)
        if name not in _FIELDS:
            fail(name, strings.P_UNKNOWN_CAL_FIELD.format(name=name, allowed=", ".join(_FIELDS)))
            continue
        try:
            values[name] = _scalar(name, value)
        except ValueError as error:
            fail(name, str(error))
    for name in _REQUIRED:
        if name not in lines:
            fail(None, strings.P_MISSING_FIELD.format(name=name))
        elif name in values and not values[name]:
            fail(name, strings.P_MUST_NOT_BE_EMPTY.format(name=name))

    given = {name for name in ("date", "month", "weekday") if values.get(name)}
    if "date" in given and given & {"month", "weekday"}:
        fail(min(given - {"date"}, key=lambda name: lines[name]),
             strings.P_DATE_AND_WEEKDAY)
    elif "date" not in given and given != {"month", "weekday"}:
        if given:
            (name,) = given
            other = "weekday" if name == "month" else "month"
            fail(name, strings.P_NEEDS_OTHER.format(name=name, other=other))
        else:
            fail(None, strings.P_MISSING_WHEN)

    def check(name: str, validate: Callable[[str], _T]) -> _T | None:
        if not (value := values.get(name)):
            return None
        try:
            return validate(value)
        except ValueError as error:
            fail(name, str(error))
            return None

    rule_id, time, text = check("id", _check_id), check("time", _check_time), check("text", _check_text)
    month_day, month = check("date", _check_month_day), check("month", _check_month)
    weekday = check("weekday", _check_weekday)
    if len(reader.problems) > before or rule_id is None or time is None or text is None:
        return None
    month, day = month_day if month_day else (month, None)
    return CalendarRule(id=rule_id, text=text, time=time, path=path, line=line, month=month, day=day,
                        weekday=weekday)


def parse_calendar(path: str, text: str) -> tuple[Calendar, list[Problem]]:
    """Reads a calendar file: the Calendar holds every valid reminder, the list names each problem."""
    root, reader, problems = compose_checked(path, text)
    if root is None or reader is None:
        return Calendar(), problems
    if not isinstance(root, yaml.MappingNode):
        reader.fail(root, strings.P_NEED_REMINDERS_MAP)
        return Calendar(), reader.problems
    sections: dict[str, yaml.Node] = {}
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value in _TOP_LEVEL:
            sections[key.value] = value
        else:
            reader.fail(key, strings.P_UNKNOWN_TOP_CALENDAR.format(key=repr(key.value)))
    themes = _themes(reader, sections["themes"]) if "themes" in sections else ()
    reminders = sections.get("reminders")
    if not isinstance(reminders, yaml.SequenceNode):
        reader.fail(reminders or root, strings.P_NEED_REMINDERS)
        return Calendar(themes=themes), reader.problems
    rules: list[CalendarRule] = []
    first_seen: dict[str, CalendarRule] = {}
    for item in reminders.value:
        if not isinstance(item, yaml.MappingNode):
            reader.fail(item, strings.P_REMINDER_NOT_MAPPING)
            continue
        rule = _rule(reader, item)
        if rule is None:
            continue
        if earlier := first_seen.get(rule.id):
            id_line = next(_line(key) for key, _ in item.value if key.value == "id")
            reader.problems.append(Problem(path, id_line,
                                           strings.P_DUPLICATE_ID.format(id=rule.id,
                                                                         where=f"{path}:{earlier.line}")))
            continue
        first_seen[rule.id] = rule
        rules.append(rule)
    # In file order, so an admin can fix them top to bottom.
    return Calendar(rules=tuple(rules), themes=themes), sorted(reader.problems, key=lambda problem: problem.line)


# --- scheduling ---------------------------------------------------------------------------------


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


def render(rule: CalendarRule, calendar: Calendar, when: dt.datetime) -> str:
    """The message for the occurrence at `when` (local to the calendar's zone): placeholders filled in."""
    theme = calendar.theme(when.year)
    values = {"year": str(when.year), "theme_line": THEME_LINE.format(theme=theme) if theme else ""}
    # A substitution, not str.format: admin text must not reach format's attribute and index lookups.
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), rule.text).strip()


def occurrence_key(rule: CalendarRule, when: dt.datetime) -> str:
    """A stable name for one occurrence, so a restart or a reload never sends it twice."""
    return f"cal-{rule.id}-{when:%Y%m%d}"
