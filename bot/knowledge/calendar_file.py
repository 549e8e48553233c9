"""The reminder calendar file (`calendar.yaml`): reads it and says what is wrong, line by line.

When the reminders fire is worked out in `bot.reminders.calendar`.

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
from collections.abc import Callable
from typing import TypeVar

import yaml

# The calendar shares the entry files' node-tree reader so it refuses aliases, duplicate keys and
# deep nesting in exactly the same way.
from bot import strings
from bot.knowledge.model import Calendar, CalendarRule
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


