"""Statistics over a window of days: questions per day, share answered, votes per entry, the most asked
unanswered themes and the hand-offs waiting for a person. Read from the store's daily counters (kept
for ever) and from the raw rows (kept QBOT_RETENTION_DAYS)."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from sqlalchemy import case, func, select

from bot.curation.review import group_similar
from bot.store import schema as t
from bot.store.repositories import Store
from bot.text import normalise

WINDOWS = (7, 30, 365)  # the /stats buttons
TOP_ENTRIES = 8
TOP_THEMES = 5
THEME_POOL = 50  # unanswered rows read before near-identical ones are merged


class WindowError(ValueError):
    """A --since value that is not a number of days."""


def parse_days(text: str) -> int:
    """'30d', '30' or '4w' as a number of days (1 to 3660)."""
    match = re.fullmatch(r"\s*(\d{1,4})\s*([dw]?)\s*", text.lower())
    if not match:
        raise WindowError(f"'{text}' is not a number of days (e.g. 7d, 30d, 365d)")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if not 1 <= days <= 3660:
        raise WindowError(f"'{text}': between 1 and 3660 days")
    return days


@dataclass(frozen=True)
class Report:
    days: int
    dates: tuple[str, ...]  # UTC days, oldest first, one per day of the window
    questions: tuple[int, ...]
    answered: tuple[int, ...]
    up: int
    down: int
    entry_votes: tuple[tuple[str, int, int], ...]  # (source title, 👍, 👎), most voted first
    themes: tuple[tuple[str, int], ...]  # (a sample question, times asked), most asked first
    handoffs_open: int  # waiting for a person now
    handoffs_answered: int  # answered by a person within the window

    @property
    def total(self) -> int:
        return sum(self.questions)

    @property
    def total_answered(self) -> int:
        return sum(self.answered)

    @property
    def share(self) -> float | None:
        return self.total_answered / self.total if self.total else None

    def shares(self) -> tuple[float | None, ...]:
        """The share answered per day (None on a day without questions)."""
        return tuple(a / q if q else None for q, a in zip(self.questions, self.answered, strict=True))


def window_dates(days: int, now: float) -> tuple[str, ...]:
    last = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return tuple((last - dt.timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1))


class Insight:
    """Builds reports from the store; every method is synchronous (run it through Store.call)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def report_for(self, days: int) -> Report:
        """The report of the last `days` days, read on the store's threads (for the faces)."""
        return await self.store.call(self.report, days)

    def report(self, days: int, now: float | None = None) -> Report:
        now = time.time() if now is None else now
        dates = window_dates(days, now)
        since = dt.datetime.fromisoformat(dates[0]).replace(tzinfo=dt.UTC).timestamp()
        d, v, q, u, h = t.daily_stats, t.votes, t.questions, t.unanswered, t.handoffs
        with self.store.db.read() as c:
            daily = {row.day: row for row in c.execute(select(d).where(d.c.day >= dates[0], d.c.day <= dates[-1]))}
            helpful = func.sum(case((v.c.helpful.is_(True), 1), else_=0))
            entry_rows = c.execute(
                select(q.c.answer_key, helpful.label("up"), func.count().label("votes"))
                .select_from(v.join(q, q.c.id == v.c.question_id))
                .where(v.c.at >= since, q.c.answer_key.is_not(None))
                .group_by(q.c.answer_key).order_by(func.count().desc(), q.c.answer_key).limit(TOP_ENTRIES)).all()
            open_rows = c.execute(select(u.c.id, u.c.sample, u.c.count).where(u.c.status == "open", u.c.last >= since)
                                  .order_by(u.c.count.desc(), u.c.last.desc()).limit(THEME_POOL)).all()
            waiting = c.execute(select(func.count()).select_from(h).where(h.c.status == "open")).scalar_one()
            answered = c.execute(select(func.count()).select_from(h).where(h.c.status == "answered",
                                                                           h.c.answered >= since)).scalar_one()
        rows = [{"id": int(r.id), "key": normalise(r.sample), "sample": str(r.sample), "count": int(r.count)}
                for r in open_rows]
        themes = tuple((group["sample"], group["count"]) for group in group_similar(rows)[:TOP_THEMES])
        return Report(
            days=days, dates=dates,
            questions=tuple(int(daily[day].questions) if day in daily else 0 for day in dates),
            answered=tuple(int(daily[day].answered) if day in daily else 0 for day in dates),
            up=sum(int(daily[day].up) for day in dates if day in daily),
            down=sum(int(daily[day].down) for day in dates if day in daily),
            entry_votes=tuple((str(r.answer_key), int(r.up or 0), int(r.votes) - int(r.up or 0)) for r in entry_rows),
            themes=themes, handoffs_open=int(waiting), handoffs_answered=int(answered),
        )
