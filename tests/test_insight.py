"""Statistics over time, the chart and the CSV export, on a real SQLite file and a real PostgreSQL (the
`store` fixture runs each store test on both)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import warnings
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from bot import strings
from bot.handoff.service import HandoffService
from bot.insight.chart import PNG_MAGIC, draw, missing_glyphs
from bot.insight.export import BOM, Exporter, parse_range
from bot.insight.series import Insight, Report, WindowError, parse_days, window_dates
from bot.store import schema as t
from bot.store.repositories import Store
from bot.text import to_traditional

TZ = ZoneInfo("Asia/Shanghai")


def fill(store: Store) -> dict[str, int]:
    """Today: four questions (two answered, one voted 👍 and one 👎), an earlier day's counters, a
    hand-off waiting and one answered."""
    first = store.questions.record(11, "质量月是几月", True, 90, "质量月")
    second = store.questions.record(12, "质量发展纲要是谁颁布的", True, 80, "质量发展纲要")
    store.questions.record(13, "今天天气怎么样", False, 0, None)
    store.questions.record(14, "今天天气怎么样？", False, 0, None)
    assert store.questions.vote(first, 11, helpful=True)
    assert store.questions.vote(second, 12, helpful=False)
    three_days_ago = window_dates(4, time.time())[0]
    with store.db.write() as c:
        c.execute(insert(t.daily_stats).values(day=three_days_ago, questions=5, answered=4, up=0, down=0))
    handoffs = HandoffService(store, staff_chat=-100)
    waiting = handoffs._create(13, 13, "今天天气怎么样")
    answered = handoffs._create(14, 14, "=1+1 人工")
    handoffs._replied(answered.id, 99)
    return {"first": first, "second": second, "waiting": waiting.id}


def test_a_report_has_one_point_per_day_and_the_windows_figures(store: Store):
    fill(store)
    report = Insight(store).report(7)
    assert len(report.dates) == 7 and report.dates[-1] == dt.datetime.now(dt.UTC).date().isoformat()
    assert report.questions == (0, 0, 0, 5, 0, 0, 4)
    assert report.answered == (0, 0, 0, 4, 0, 0, 2)
    assert (report.total, report.total_answered, report.up, report.down) == (9, 6, 1, 1)
    assert report.shares()[-1] == 0.5 and report.shares()[0] is None
    assert sorted(report.entry_votes) == [("质量发展纲要", 0, 1), ("质量月", 1, 0)]
    assert report.themes == (("今天天气怎么样？", 2),)  # the two spellings are one theme
    assert (report.handoffs_open, report.handoffs_answered) == (1, 1)
    assert Insight(store).report(1).questions == (4,)


def test_window_parsing():
    assert [parse_days(text) for text in ("7d", "30", "365d", "2w")] == [7, 30, 365, 14]
    for bad in ("", "d", "0d", "-3d", "99999d", "30y"):
        with pytest.raises(WindowError):
            parse_days(bad)


REPORT = Report(days=7, dates=tuple(f"2026-11-{day:02d}" for day in range(24, 31)),
                questions=(3, 0, 5, 2, 8, 1, 4), answered=(2, 0, 5, 1, 6, 1, 3), up=4, down=2,
                entry_votes=(("质量月", 3, 1), ("《质量发展纲要》", 1, 1)),
                themes=(("今天天气怎么样😀", 3), ("人工智能是什么", 1)), handoffs_open=2, handoffs_answered=1)


def test_the_chart_is_a_png_drawn_from_the_reports_series_with_every_character_in_the_font():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph … missing from font(s)" warning fails the test
        chart = draw(REPORT)
    assert chart.png.startswith(PNG_MAGIC) and len(chart.png) > 10_000
    assert chart.series["dates"] == list(REPORT.dates)
    assert chart.series["questions"] == [3, 0, 5, 2, 8, 1, 4]
    assert chart.series["answered"] == [2, 0, 5, 1, 6, 1, 3]
    assert chart.series["share"] == [66.7, None, 100.0, 50.0, 75.0, 100.0, 75.0]
    assert chart.series["entries"] == [("质量月", 3, 1), ("《质量发展纲要》", 1, 1)]
    assert chart.series["themes"] == [("今天天气怎么样", 3), ("人工智能是什么", 1)]  # the emoji cannot be drawn
    labels = [strings.CHART_TITLE, strings.CHART_DAILY, strings.CHART_QUESTIONS, strings.CHART_ANSWERED,
              strings.CHART_SHARE, strings.CHART_VOTES, strings.CHART_UP, strings.CHART_DOWN, strings.CHART_THEMES,
              strings.CHART_NONE]
    assert missing_glyphs("".join(labels)) == set()
    assert missing_glyphs("".join(to_traditional(label, "s2tw") for label in labels)) == set()
    assert missing_glyphs("😀") == {"😀"}  # the check does notice a character the font lacks


def test_the_chart_in_traditional_and_with_no_data():
    empty = Report(days=7, dates=REPORT.dates, questions=(0,) * 7, answered=(0,) * 7, up=0, down=0, entry_votes=(),
                   themes=(), handoffs_open=0, handoffs_answered=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chart = draw(empty, lambda text: to_traditional(text, "s2tw"))
    assert chart.png.startswith(PNG_MAGIC) and chart.series["share"] == [None] * 7


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_export_has_the_rows_created_with_pseudonyms_not_ids(store: Store):
    ids = fill(store)
    files = Exporter(store, TZ).files(parse_range(["7d"], TZ))
    assert sorted(name.split("-")[0] for name in files) == ["deliveries", "handoffs", "questions", "unanswered",
                                                            "votes"]
    tables = {name.split("-")[0]: read_csv(data) for name, data in files.items()}
    header, *rows = tables["questions"]
    assert header == list(strings.EXPORT_HEADERS["questions"])
    assert [row[3] for row in rows] == ["质量月是几月", "质量发展纲要是谁颁布的", "今天天气怎么样", "今天天气怎么样？"]
    assert [row[4] for row in rows] == ["1", "1", "0", "0"]
    pseudonyms = {row[2] for row in rows}
    assert len(pseudonyms) == 4 and not pseudonyms & {"11", "12", "13", "14"}
    assert {(row[0], row[3]) for row in tables["votes"][1:]} == {(str(ids["first"]), "1"), (str(ids["second"]), "0")}
    assert sorted(row[1:3] for row in tables["unanswered"][1:]) == [["今天天气怎么样", "1"], ["今天天气怎么样？", "1"]]
    handoffs = tables["handoffs"][1:]
    assert [row[3] for row in handoffs] == ["今天天气怎么样", "'=1+1 人工"]  # a formula is not run by Excel
    assert [row[4] for row in handoffs] == ["open", "answered"]
    again = Exporter(store, TZ).files(parse_range(["7d"], TZ))
    assert read_csv(next(v for k, v in again.items() if k.startswith("questions")))[1][2] == rows[0][2]  # stable
    old = Exporter(store, TZ).files(parse_range(["2020-01-01", "2020-01-31"], TZ))
    assert all(len(read_csv(data)) == 1 for data in old.values())  # headers only


def test_export_ranges():
    now = dt.datetime(2026, 12, 3, 12, tzinfo=TZ).timestamp()
    week = parse_range(["7d"], TZ, now)
    assert week.label == "20261127-20261203"
    assert week.until - week.since == 7 * 86400
    span = parse_range(["2026-11-01", "2026-11-30"], TZ, now)
    assert span.since == dt.datetime(2026, 11, 1, tzinfo=TZ).timestamp()
    assert span.until == dt.datetime(2026, 12, 1, tzinfo=TZ).timestamp()
    for bad in (["2026-11-30", "2026-11-01"], ["a", "b", "c"], ["2026-13-01", "2026-13-02"], ["soon"]):
        with pytest.raises(WindowError):
            parse_range(bad, TZ, now)
