"""The reminder calendar: parsing with line numbers, next occurrences across years and DST, rendering."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge.calendar_file import parse_calendar
from bot.knowledge.model import Calendar, CalendarRule
from bot.reminders.calendar import next_occurrence, occurrence_key, occurrence_text, upcoming
from tests.conftest import KNOWLEDGE

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC

GOOD = """\
themes:
  2017: 大力提升质量，建设质量强国
reminders:
  - id: week-before
    date: "08-25"
    time: "09:00"
    text: "{year}年全国“质量月”将于9月1日开始。{theme_line}"
  - id: mondays
    month: 9
    weekday: monday
    time: "10:00"
    text: 质量月进行中。
"""


def rule(text: str = "提醒", time: str = "09:00", **schedule: int) -> CalendarRule:
    hour, minute = (int(part) for part in time.split(":"))
    return CalendarRule(id="r", text=text, time=dt.time(hour, minute), path="calendar.yaml", line=1, **schedule)


def at(tz: ZoneInfo, *parts: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=tz, fold=fold)


def parse(text: str) -> Calendar:
    calendar, problems = parse_calendar("calendar.yaml", text)
    assert problems == []
    return calendar


# --- next_occurrence ---------------------------------------------------------------------------


def test_next_occurrence_later_in_the_year():
    when = next_occurrence(rule(month=8, day=25), SHANGHAI, at(SHANGHAI, 2024, 3, 15, 12, 0))
    assert when == at(SHANGHAI, 2024, 8, 25, 9, 0)
    assert when.tzinfo is SHANGHAI and when.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (at(SHANGHAI, 2024, 8, 25, 8, 59, 59), at(SHANGHAI, 2024, 8, 25, 9, 0)),
        (at(SHANGHAI, 2024, 8, 25, 9, 0), at(SHANGHAI, 2025, 8, 25, 9, 0)),  # strictly after: not again
        (at(SHANGHAI, 2024, 8, 25, 9, 0, 1), at(SHANGHAI, 2025, 8, 25, 9, 0)),
        # The same instant written in another zone gives the same answer.
        (dt.datetime(2024, 8, 25, 0, 59, tzinfo=UTC), at(SHANGHAI, 2024, 8, 25, 9, 0)),
        (dt.datetime(2024, 8, 25, 1, 0, tzinfo=UTC), at(SHANGHAI, 2025, 8, 25, 9, 0)),
    ],
)
def test_just_before_and_after_the_time_on_the_day(after, expected):
    assert next_occurrence(rule(month=8, day=25), SHANGHAI, after) == expected


def test_year_rollover_after_quality_month():
    calendar = parse((KNOWLEDGE / "calendar.yaml").read_text(encoding="utf-8"))
    week_before = next(r for r in calendar.rules if r.id == "week-before")
    assert next_occurrence(week_before, SHANGHAI, at(SHANGHAI, 2024, 9, 30, 17, 0)) == at(SHANGHAI, 2025, 8, 25, 9, 0)
    assert next_occurrence(week_before, SHANGHAI, at(SHANGHAI, 2024, 12, 31, 23, 59)) == at(SHANGHAI, 2025, 8, 25, 9)


def test_weekly_rule_fires_on_september_mondays_only():
    mondays = rule(time="10:00", month=9, weekday=0)
    seen: list[dt.datetime] = []
    after = at(SHANGHAI, 2024, 1, 1)
    while (when := next_occurrence(mondays, SHANGHAI, after)).year <= 2025:
        seen.append(when)
        after = when
    assert [when.date().isoformat() for when in seen] == [
        "2024-09-02", "2024-09-09", "2024-09-16", "2024-09-23", "2024-09-30",
        "2025-09-01", "2025-09-08", "2025-09-15", "2025-09-22", "2025-09-29",
    ]
    assert all(when.time() == dt.time(10, 0) for when in seen)


def test_after_the_last_september_monday_comes_next_years_first():
    mondays = rule(time="10:00", month=9, weekday=0)
    assert next_occurrence(mondays, SHANGHAI, at(SHANGHAI, 2024, 9, 30, 10, 0)) == at(SHANGHAI, 2025, 9, 1, 10, 0)
    assert next_occurrence(mondays, SHANGHAI, at(SHANGHAI, 2024, 9, 30, 9, 59)) == at(SHANGHAI, 2024, 9, 30, 10, 0)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (at(SHANGHAI, 2025, 1, 1), at(SHANGHAI, 2028, 2, 29, 9, 0)),
        (at(SHANGHAI, 2024, 2, 28), at(SHANGHAI, 2024, 2, 29, 9, 0)),
        (at(SHANGHAI, 2096, 3, 1), at(SHANGHAI, 2104, 2, 29, 9, 0)),  # 2100 is not a leap year
    ],
)
def test_february_29_fires_in_leap_years_only(after, expected):
    assert next_occurrence(rule(month=2, day=29), SHANGHAI, after) == expected


def test_dst_zone_keeps_local_time_with_different_utc_offsets():
    summer = next_occurrence(rule(month=9, day=1), NEW_YORK, at(SHANGHAI, 2024, 1, 1))
    winter = next_occurrence(rule(month=12, day=1), NEW_YORK, at(SHANGHAI, 2024, 1, 1))
    assert (summer.hour, winter.hour) == (9, 9)
    assert summer.utcoffset() == dt.timedelta(hours=-4) and winter.utcoffset() == dt.timedelta(hours=-5)
    assert summer.astimezone(UTC) == dt.datetime(2024, 9, 1, 13, 0, tzinfo=UTC)
    assert winter.astimezone(UTC) == dt.datetime(2024, 12, 1, 14, 0, tzinfo=UTC)
    # Shanghai has no DST: the same rule is at +08:00 all year.
    assert next_occurrence(rule(month=12, day=1), SHANGHAI, at(SHANGHAI, 2024, 1, 1)).utcoffset() == \
        next_occurrence(rule(month=9, day=1), SHANGHAI, at(SHANGHAI, 2024, 1, 1)).utcoffset()


@pytest.mark.parametrize(
    ("tz", "day", "utc"),
    [
        # 02:30 does not exist on these days: the clocks jump from 02:00 to 03:00.
        (NEW_YORK, (2024, 3, 10), dt.datetime(2024, 3, 10, 7, 0, tzinfo=UTC)),
        (BERLIN, (2024, 3, 31), dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
    ],
)
def test_time_skipped_by_spring_forward_fires_when_the_gap_ends(tz, day, utc):
    year, month, date = day
    when = next_occurrence(rule(time="02:30", month=month, day=date), tz, at(tz, year, 1, 1))
    assert when.astimezone(UTC) == utc
    assert (when.date(), when.time()) == (dt.date(*day), dt.time(3, 0))
    assert when.tzinfo is tz


def test_time_repeated_by_fall_back_fires_once_at_the_first_instant():
    rule_0130 = rule(time="01:30", month=11, day=3)  # New York falls back 02:00 EDT -> 01:00 EST on 2024-11-03
    first = next_occurrence(rule_0130, NEW_YORK, at(NEW_YORK, 2024, 11, 3, 0, 0))
    assert first.astimezone(UTC) == dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert first.utcoffset() == dt.timedelta(hours=-4) and first.fold == 0
    # Not again at the second 01:30 (EST), one hour later.
    assert next_occurrence(rule_0130, NEW_YORK, first) == at(NEW_YORK, 2025, 11, 3, 1, 30)
    # 01:10 EST is after 01:30 EDT although its wall time is earlier: already passed, so next year.
    second_pass = at(NEW_YORK, 2024, 11, 3, 1, 10, fold=1)
    assert next_occurrence(rule_0130, NEW_YORK, second_pass) == at(NEW_YORK, 2025, 11, 3, 1, 30)
    # Between the two passes of 01:30 is also after the first.
    between = at(NEW_YORK, 2024, 11, 3, 1, 45)  # fold=0: EDT, 15 min after the occurrence
    assert next_occurrence(rule_0130, NEW_YORK, between).year == 2025


def test_naive_after_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_occurrence(rule(month=8, day=25), SHANGHAI, dt.datetime(2024, 1, 1))


def test_rule_needs_exactly_one_schedule_shape():
    with pytest.raises(ValueError, match="month"):
        rule(month=9, day=1, weekday=0)
    with pytest.raises(ValueError, match="month"):
        rule(day=1)


ZONES = [ZoneInfo(name) for name in ("Asia/Shanghai", "America/New_York", "Europe/Berlin", "UTC",
                                     "Australia/Lord_Howe", "America/Havana", "America/Santiago")]
rules = st.one_of(
    st.builds(lambda month, day, hour, minute: rule(time=f"{hour}:{minute}", month=month, day=day),
              st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59))
    .filter(lambda r: r.day <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][r.month - 1]),
    st.builds(lambda month, weekday, hour, minute: rule(time=f"{hour}:{minute}", month=month, weekday=weekday),
              st.integers(1, 12), st.integers(0, 6), st.integers(0, 23), st.integers(0, 59)),
)


@settings(max_examples=300, deadline=None)
@given(rule_=rules, tz=st.sampled_from(ZONES),
       after=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31),
                          timezones=st.sampled_from(ZONES)))
def test_next_occurrence_is_after_and_on_the_rule(rule_, tz, after):
    when = next_occurrence(rule_, tz, after)
    assert when.astimezone(UTC) > after.astimezone(UTC)
    assert when.tzinfo is tz
    assert when - after < dt.timedelta(days=8 * 366 + 2)  # 02-29 can be 8 years away (2096 -> 2104)
    # Asking again from just before gives the same answer (UTC arithmetic: wall-clock arithmetic could
    # step back into a DST gap).
    assert next_occurrence(rule_, tz, when.astimezone(UTC) - dt.timedelta(microseconds=1)) == when
    nominal = dt.datetime.combine(when.date(), rule_.time, tzinfo=tz)
    exists = nominal.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == nominal.replace(tzinfo=None)
    if exists:
        assert when.replace(tzinfo=None) == nominal.replace(tzinfo=None)
    else:  # skipped by a DST gap: fires at the gap's end, shortly after the nominal wall time
        assert dt.timedelta(0) < when.replace(tzinfo=None) - nominal.replace(tzinfo=None) <= dt.timedelta(hours=2)
    assert when.month == rule_.month
    if rule_.day is not None:
        assert when.day == rule_.day
    else:
        assert when.weekday() == rule_.weekday


# --- upcoming, render, occurrence_key ----------------------------------------------------------


def test_upcoming_is_sorted_by_time():
    calendar = parse((KNOWLEDGE / "calendar.yaml").read_text(encoding="utf-8"))
    order = [(r.id, when) for r, when in upcoming(calendar, SHANGHAI, at(SHANGHAI, 2024, 9, 1, 9, 30))]
    assert order == [
        ("september-mondays", at(SHANGHAI, 2024, 9, 2, 10, 0)),
        ("closing-day", at(SHANGHAI, 2024, 9, 30, 17, 0)),
        ("week-before", at(SHANGHAI, 2025, 8, 25, 9, 0)),
        ("opening-day", at(SHANGHAI, 2025, 9, 1, 9, 0)),
    ]
    assert upcoming(Calendar(), SHANGHAI, at(SHANGHAI, 2024, 1, 1)) == []


def test_upcoming_breaks_ties_by_id():
    b, a = (replace(rule(month=9, day=1), id=name) for name in ("b", "a"))
    pairs = upcoming(Calendar(rules=(b, a)), SHANGHAI, at(SHANGHAI, 2024, 1, 1))
    assert [r.id for r, _ in pairs] == ["a", "b"]


def test_render_with_and_without_theme():
    calendar = parse(GOOD)
    week_before = calendar.rules[0]
    assert calendar.theme(2017) == "大力提升质量，建设质量强国" and calendar.theme(2018) is None
    assert occurrence_text(week_before, calendar, at(SHANGHAI, 2017, 8, 25, 9, 0)) == (
        "2017年全国“质量月”将于9月1日开始。今年“质量月”的主题是“大力提升质量，建设质量强国”。")
    assert occurrence_text(week_before, calendar, at(SHANGHAI, 2024, 8, 25, 9, 0)) == \
        "2024年全国“质量月”将于9月1日开始。"


def test_render_leaves_braces_in_a_theme_alone():
    calendar = Calendar(themes=((2030, "{year} 质量"),))
    assert occurrence_text(rule("{year}：{theme_line}", month=9, day=1), calendar, at(SHANGHAI, 2030, 9, 1)) == \
        "2030：今年“质量月”的主题是“{year} 质量”。"


def test_occurrence_key_names_rule_and_local_day():
    mondays = rule(time="10:00", month=9, weekday=0)
    when = next_occurrence(mondays, SHANGHAI, at(SHANGHAI, 2024, 9, 1))
    assert occurrence_key(mondays, when) == "cal-r-20240902"
    # Stable: computing the same occurrence again (e.g. after a restart) gives the same key.
    assert occurrence_key(mondays, next_occurrence(mondays, SHANGHAI, at(SHANGHAI, 2024, 9, 2, 9))) == "cal-r-20240902"


# --- parsing -----------------------------------------------------------------------------------


def test_shipped_calendar_parses_cleanly():
    calendar, problems = parse_calendar("calendar.yaml", (KNOWLEDGE / "calendar.yaml").read_text(encoding="utf-8"))
    assert problems == []
    assert [r.id for r in calendar.rules] == ["week-before", "opening-day", "september-mondays", "closing-day"]
    assert calendar.themes == ((2017, "大力提升质量，建设质量强国"),)
    opening = calendar.rules[1]
    assert (opening.month, opening.day, opening.time) == (9, 1, dt.time(9, 0))
    assert "{theme_line}" in opening.text
    mondays = calendar.rules[2]
    assert (mondays.month, mondays.weekday, mondays.day, mondays.time) == (9, 0, None, dt.time(10, 0))
    for r in calendar.rules:
        text = occurrence_text(r, calendar, at(SHANGHAI, 2017, 9, 1))
        assert "/unsubscribe" in text and "{" not in text and len(text) < 200


def test_good_file_is_read_with_lines():
    calendar = parse(GOOD)
    week_before, mondays = calendar.rules
    assert (week_before.id, week_before.month, week_before.day, week_before.weekday) == ("week-before", 8, 25, None)
    assert (week_before.path, week_before.line, mondays.line) == ("calendar.yaml", 4, 8)


@pytest.mark.parametrize(
    ("value", "weekday"),
    [("monday", 0), ("Friday", 4), ("周三", 2), ("星期日", 6), ("周日", 6), ("星期天", 6)],
)
def test_weekday_names(value, weekday):
    assert parse(GOOD.replace("weekday: monday", f"weekday: {value}")).rules[1].weekday == weekday


def test_unquoted_times_and_dates_are_read_as_written():
    # YAML 1.1 would read an unquoted 10:00 as the base-60 number 600.
    text = GOOD.replace('time: "10:00"', "time: 10:00").replace('date: "08-25"', "date: 08-25")
    week_before, mondays = parse(text).rules
    assert mondays.time == dt.time(10, 0) and (week_before.month, week_before.day) == (8, 25)


def test_block_text_and_february_29_are_accepted():
    block = "    text: |\n      第一行{year}\n      第二行\n"
    text = GOOD.replace('date: "08-25"', 'date: "02-29"').replace(GOOD.splitlines(keepends=True)[6], block)
    week_before = parse(text).rules[0]
    assert (week_before.month, week_before.day) == (2, 29)
    assert week_before.text == "第一行{year}\n第二行"


def replace_line(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("", 1, "文件是空的"),
        ("# only a comment\n", 1, "文件是空的"),
        (replace_line('    time: "09:00"\n', "    time: 09: 00\n"), 6, "YAML 语法错误"),
        ("- 1\n", 1, "顶层应是 'reminders:' 列表"),
        ("themes: {}\n", 1, "顶层应是 'reminders:' 列表"),
        ("reminders: {}\n", 1, "顶层应是 'reminders:' 列表"),
        (GOOD + "extra: 1\n", 13, "未知的顶层键 'extra'"),
        (replace_line("    weekday: monday\n", "    weekday: monday\n    colour: red\n"), 11, "未知字段“colour”"),
        (replace_line('    time: "10:00"\n', ""), 8, "缺少必填字段“time”"),
        (replace_line("  - id: mondays\n", "  - name: mondays\n"), 8, "未知字段“name”"),
        (replace_line('    text: "{year}', '    text: "{yaer}'), 7, "未知占位符 {yaer}"),
        (replace_line('    text: "{year}', '    text: "{year.__class__}'), 7, "未知占位符 {year.__class__}"),
        (replace_line('    text: "{year}', '    text: "{year'), 7, "不成对的 '{' 或 '}'"),
        (replace_line("    text: 质量月进行中。\n", '    text: "  "\n'), 12, "字段“text”不能为空"),
        (replace_line("    text: 质量月进行中。\n", "    text:\n"), 12, "字段“text”不能为空"),
        (replace_line("    text: 质量月进行中。\n", f"    text: {'质' * 1001}\n"), 12, "上限为 1000 个"),
        (replace_line('    date: "08-25"\n', '    date: "02-30"\n'), 5, "日期 '02-30' 有误"),
        (replace_line('    date: "08-25"\n', '    date: "2024-08-25"\n'), 5, "请写成 MM-DD"),
        (replace_line('    date: "08-25"\n', ""), 4, "缺少 'date'（或 'month' + 'weekday'）"),
        (replace_line('    date: "08-25"\n', '    date: "08-25"\n    weekday: friday\n'), 6, "不能同时使用"),
        (replace_line("    weekday: monday\n", ""), 9, "'month' 还需要 'weekday'"),
        (replace_line("    month: 9\n", ""), 9, "'weekday' 还需要 'month'"),
        (replace_line("    month: 9\n", "    month: 13\n"), 9, "月份 '13' 有误"),
        (replace_line("    weekday: monday\n", "    weekday: funday\n"), 10, "星期 'funday' 有误"),
        (replace_line('    time: "10:00"\n', '    time: "24:00"\n'), 11, "时间 '24:00' 有误"),
        (replace_line('    time: "10:00"\n', '    time: "10"\n'), 11, "时间 '10' 有误"),
        (replace_line('    time: "10:00"\n', "    time: [10, 0]\n"), 11, "必须是单个值"),
        (replace_line("  - id: mondays\n", "  - id: Mondays!\n"), 8, "编号 'Mondays!' 有误"),
        (replace_line("  - id: mondays\n", f"  - id: {'m' * 41}\n"), 8, "最多 40 个"),
        (replace_line("  - id: mondays\n", "  - id: week-before\n"), 8,
         "编号“week-before”重复（第一次出现在 calendar.yaml:4）"),
        (replace_line("  - id: mondays\n", "  - id: mondays\n    id: again\n"), 9, "键“id”重复"),
        (replace_line("  2017: 大力", "  1977: 大力"), 2, "主题年份 '1977' 有误"),
        (replace_line("  2017: 大力", "  twenty: 大力"), 2, "主题年份 'twenty' 有误"),
        (replace_line("  2017: 大力提升质量，建设质量强国\n", "  2017:\n"), 2, "2017 年的主题是空的"),
        ("themes: [a]\nreminders: []\n", 1, "'themes' 必须是“年份: 主题”的映射"),
        ("reminders:\n  - just text\n", 2, "每条提醒都应是由字段"),
        ("reminders:\n  - &a {id: a}\n  - *a\n", 2, "锚点和别名"),  # reported where the anchor is
    ],
)
def test_problems_name_the_line(content, line, message):
    _, problems = parse_calendar("calendar.yaml", content)
    assert problems, content
    first = problems[0]
    assert (first.path, first.line) == ("calendar.yaml", line), str(first)
    assert message in first.message, str(first)


def test_valid_reminders_are_kept_next_to_bad_ones():
    content = replace_line("    month: 9\n", "    month: 13\n") + (
        '  - id: closing\n    date: "09-30"\n    time: "17:00"\n    text: 再见\n'
        '  - id: closing\n    date: "09-31"\n    time: "17:00"\n    text: 重复\n')
    calendar, problems = parse_calendar("calendar.yaml", content)
    assert [r.id for r in calendar.rules] == ["week-before", "closing"]
    assert [(p.line, p.message.split("：")[0]) for p in problems] == [(9, "月份 '13' 有误"), (18, "日期 '09-31' 有误")]
    assert calendar.theme(2017)


def test_reminders_may_be_an_empty_list():
    calendar, problems = parse_calendar("calendar.yaml", "reminders: []\n")
    assert problems == [] and calendar.rules == ()
