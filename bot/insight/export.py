"""CSV exports for staff: questions, unanswered questions, votes, broadcast deliveries and hand-offs in a
date range. UTF-8 with a byte-order mark, so Excel opens the Chinese correctly. Users and chats appear
as pseudonyms (a keyed hash, the key kept in the database), never as Telegram ids or names."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import strings
from bot.store import schema as t
from bot.store.repositories import Store

from .series import WindowError, parse_days

BOM = "\ufeff"
KINDS = ("questions", "unanswered", "votes", "deliveries", "handoffs")
MAX_ROWS = 200_000  # per file: a Telegram document is at most 50 MB


@dataclass(frozen=True)
class Range:
    since: float
    until: float
    label: str  # for file names: 20261101-20261130


def parse_range(words: list[str], tz: ZoneInfo, now: float | None = None) -> Range:
    """[] (the last 30 days), ['7d'], ['2026-11-01'] (that day until now) or ['2026-11-01', '2026-11-30']
    (both days included), days in `tz`."""
    now = time.time() if now is None else now
    today = dt.datetime.fromtimestamp(now, tz).date()
    if len(words) > 2:
        raise WindowError(strings.EXPORT_USAGE)
    if len(words) <= 1 and (not words or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[0])):
        days = parse_days(words[0]) if words else 30
        first, last = today - dt.timedelta(days=days - 1), today
    else:
        try:
            first = dt.date.fromisoformat(words[0])
            last = dt.date.fromisoformat(words[1]) if len(words) == 2 else today
        except ValueError:
            raise WindowError(strings.EXPORT_USAGE) from None
        if last < first:
            raise WindowError(strings.EXPORT_USAGE)

    def start(day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(), tz).timestamp()

    return Range(start(first), start(last + dt.timedelta(days=1)), f"{first:%Y%m%d}-{last:%Y%m%d}")


class Exporter:
    """Builds the CSV files; synchronous (run through Store.call)."""

    def __init__(self, store: Store, tz: ZoneInfo) -> None:
        self.store = store
        self.tz = tz

    def salt(self) -> bytes:
        m = t.meta
        with self.store.db.write() as c:
            self.store.db.upsert(c, m, {"key": "export-salt", "value": secrets.token_hex(16)}, ["key"], None)
            return str(c.execute(select(m.c.value).where(m.c.key == "export-salt")).scalar_one()).encode()

    async def files_for(self, span: Range) -> dict[str, bytes]:
        """The CSV files of `span`, built on the store's threads (for the faces)."""
        return await self.store.call(self.files, span)

    def files(self, span: Range) -> dict[str, bytes]:
        """File name -> CSV bytes, one file per kind."""
        key = self.salt()

        def who(number: Any) -> str:
            return "" if number is None else hmac.new(key, str(int(number)).encode(), hashlib.sha256).hexdigest()[:12]

        def when(at: Any) -> str:
            return "" if at is None else dt.datetime.fromtimestamp(float(at), self.tz).strftime("%Y-%m-%d %H:%M:%S")

        q, u, v, b, dl, h = t.questions, t.unanswered, t.votes, t.broadcasts, t.deliveries, t.handoffs
        inside = (span.since, span.until)
        with self.store.db.read() as c:
            tables: dict[str, list[list[Any]]] = {
                "questions": [[r.id, when(r.at), who(r.user_id), r.question, int(bool(r.matched)), r.score,
                               r.answer_key or ""] for r in c.execute(
                    select(q).where(q.c.at >= inside[0], q.c.at < inside[1]).order_by(q.c.at).limit(MAX_ROWS))],
                "unanswered": [[r.id, r.sample, r.count, when(r.first), when(r.last), r.status] for r in c.execute(
                    select(u).where(u.c.last >= inside[0], u.c.first < inside[1])
                    .order_by(u.c.count.desc()).limit(MAX_ROWS))],
                "votes": [[r.question_id, when(r.at), who(r.user_id), int(bool(r.helpful)), r.answer_key or ""]
                          for r in c.execute(
                    select(v, q.c.answer_key).select_from(v.outerjoin(q, q.c.id == v.c.question_id))
                    .where(v.c.at >= inside[0], v.c.at < inside[1]).order_by(v.c.at).limit(MAX_ROWS))],
                "deliveries": [[r.broadcast_id, r.source, who(r.chat_id), r.status, when(r.at)] for r in c.execute(
                    select(dl, b.c.source).select_from(dl.join(b, b.c.id == dl.c.broadcast_id))
                    .where(b.c.at >= inside[0], b.c.at < inside[1]).order_by(b.c.at, dl.c.chat_id).limit(MAX_ROWS))],
                "handoffs": [[r.id, when(r.created), who(r.user_id), r.question, r.status, when(r.answered), r.replies]
                             for r in c.execute(select(h).where(h.c.created >= inside[0], h.c.created < inside[1])
                                                .order_by(h.c.created).limit(MAX_ROWS))],
            }
        return {f"{kind}-{span.label}.csv": to_csv(strings.EXPORT_HEADERS[kind], tables[kind]) for kind in KINDS}


def to_csv(header: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    """CSV text, UTF-8 with BOM; cells that a spreadsheet would run as a formula are quoted with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(cell) for cell in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def _safe(cell: Any) -> Any:
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell
