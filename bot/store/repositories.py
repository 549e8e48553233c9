"""Small repositories over SQL tables (SQLAlchemy Core): each knows one kind of record.

Every method is synchronous and short (one transaction); the async side calls them through
`Store.call`, which runs them on the store's threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, ParamSpec, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.store import schema as t
from bot.store.db import open_engine
from bot.text import normalise

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
TOKEN_BYTES = 9  # 12 URL-safe characters: unguessable, and short enough for 64-byte callback data


def _now() -> float:
    return time.time()


def day_of(at: float) -> str:
    """The UTC day a question or vote is counted under."""
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


class Database:
    """The engine plus the two kinds of transaction the repositories use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time. Left to it, the store's threads would wait on its busy
        # handler, which sleeps in steps of up to 100 ms; queued on a lock here, the next writer
        # starts the moment the last one commits. (Other processes still meet busy_timeout.)
        self.writers: threading.RLock | None = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def write(self, log: bool = False) -> Iterator[Connection]:
        """A write transaction. `log=True` is for the question log (questions, their suggestion
        buttons, votes, daily counts) and the user records first messages make: its commit does not
        wait for the disk, so a power cut or a database crash may lose the last fraction of a second
        of it, never corrupt anything. A citizen's answer should not wait on an fsync for a
        statistic. Everything else (subscriptions, roles, broadcasts, reminders, audit) keeps a
        commit that survives a power cut."""
        with (self.writers or nullcontext(),
              self.engine.connect().execution_options(log_write=log) as connection, connection.begin()):
            if log and self.dialect == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO off")
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(read_only=True) as connection, connection.begin():
            yield connection

    def upsert(self, connection: Connection, table: Any, values: dict[str, Any], keys: list[str],
               changes: dict[str, Any] | None) -> None:
        """INSERT ... ON CONFLICT (keys) DO UPDATE SET changes (or DO NOTHING when changes is None)."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = dialect.insert(table).values(**values)
        if changes is None:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        else:
            statement = statement.on_conflict_do_update(index_elements=keys, set_=changes)
        connection.execute(statement)


class Users:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.known: set[tuple[int, str, str]] = set()
        self._upsert: Any = None

    def seen(self, user_id: int, name: str = "", username: str = "") -> None:
        """Records a user (name and @username kept current); later calls in this process with the same
        names neither read nor write. Committed as the question log is, without waiting for the disk:
        each citizen's first message waits for this write, and one lost to a power cut is made again
        by the user's next message (a restarted process has forgotten `known`)."""
        self.seen_many([(user_id, name, username)])

    def seen_many(self, people: list[tuple[int, str, str]]) -> None:
        """`seen` for several users (id, name, username) in one transaction and one statement: a burst of
        first messages (say 50 citizens at once) is one commit, not one each."""
        rows = {key: {"id": key[0], "name": key[1], "username": key[2], "first_seen": _now()}
                for user_id, name, username in people
                if (key := (user_id, name[:64], username[:64])) not in self.known}
        if not rows:
            return
        if self._upsert is None:  # built once, as the question log's statements are
            statement = (postgresql if self.db.dialect == "postgresql" else sqlite).insert(t.users)
            self._upsert = statement.on_conflict_do_update(index_elements=["id"], set_={
                "name": statement.excluded["name"], "username": statement.excluded["username"]})
        with self.db.write(log=True) as c:
            c.execute(self._upsert, list(rows.values()))
        self.known.update(rows)

    def describe(self, user_id: int) -> tuple[str, str] | None:
        """(name, username) of a user the bot has seen, else None."""
        with self.db.read() as c:
            row = c.execute(select(t.users.c.name, t.users.c.username).where(t.users.c.id == user_id)).first()
        return (str(row.name or ""), str(row.username or "")) if row else None

    def count(self) -> int:
        with self.db.read() as c:
            return int(c.execute(select(func.count()).select_from(t.users)).scalar_one())


class Staff:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, user_id: int, added_by: int) -> bool:
        try:
            with self.db.write() as c:
                c.execute(insert(t.staff).values(user_id=user_id, added_by=added_by, at=_now()))
        except IntegrityError:
            return False
        return True

    def remove(self, user_id: int) -> bool:
        with self.db.write() as c:
            return c.execute(delete(t.staff).where(t.staff.c.user_id == user_id)).rowcount > 0

    def ids(self) -> list[int]:
        with self.db.read() as c:
            return [int(i) for i in c.execute(select(t.staff.c.user_id).order_by(t.staff.c.user_id)).scalars()]

    def contains(self, user_id: int) -> bool:
        with self.db.read() as c:
            return c.execute(select(t.staff.c.user_id).where(t.staff.c.user_id == user_id)).first() is not None


class Subscriptions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def subscribe(self, chat_id: int) -> bool:
        """True when this starts (or restarts) a subscription, False when it was already active."""
        s = t.subscriptions
        with self.db.write() as c:
            active = c.execute(select(s.c.active).where(s.c.chat_id == chat_id)).scalar_one_or_none()
            if active:
                return False
            if active is None:
                c.execute(insert(s).values(chat_id=chat_id, active=True, since=_now()))
            else:
                c.execute(update(s).where(s.c.chat_id == chat_id).values(active=True, since=_now(), until=None,
                                                                         reason=None))
            return True

    def unsubscribe(self, chat_id: int) -> bool:
        s = t.subscriptions
        with self.db.write() as c:
            return c.execute(update(s).where(s.c.chat_id == chat_id, s.c.active.is_(True))
                             .values(active=False, until=_now())).rowcount > 0

    def deactivate(self, chat_id: int, reason: str) -> None:
        """The chat blocked the bot or is gone: stop sending to it, keep the record."""
        s = t.subscriptions
        with self.db.write() as c:
            c.execute(update(s).where(s.c.chat_id == chat_id).values(active=False, until=_now(), reason=reason))

    def blocked(self, chat_id: int) -> bool:
        """The user blocked the bot: an active subscription stops, marked so that unblocking resumes it.
        True when something changed."""
        s = t.subscriptions
        with self.db.write() as c:
            return c.execute(update(s).where(s.c.chat_id == chat_id, s.c.active.is_(True))
                             .values(active=False, until=_now(), reason="blocked")).rowcount > 0

    def resume(self, chat_id: int) -> bool:
        """The chat unblocked the bot: a subscription stopped only because it was blocked is active again
        (one the user cancelled stays cancelled). True when something changed."""
        s = t.subscriptions
        with self.db.write() as c:
            return c.execute(update(s).where(s.c.chat_id == chat_id, s.c.active.is_(False), s.c.reason == "blocked")
                             .values(active=True, until=None, reason=None)).rowcount > 0

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its subscription follows it to the new id."""
        s = t.subscriptions
        with self.db.write() as c:
            exists = c.execute(select(s.c.chat_id).where(s.c.chat_id == new_chat_id)).first() is not None
            if exists:
                c.execute(update(s).where(s.c.chat_id == new_chat_id).values(active=True))
                c.execute(delete(s).where(s.c.chat_id == old_chat_id))
            else:
                c.execute(update(s).where(s.c.chat_id == old_chat_id).values(chat_id=new_chat_id))

    def active_ids(self) -> list[int]:
        s = t.subscriptions
        with self.db.read() as c:
            return [int(i) for i in c.execute(select(s.c.chat_id).where(s.c.active.is_(True))
                                              .order_by(s.c.chat_id)).scalars()]

    def count_active(self) -> int:
        s = t.subscriptions
        with self.db.read() as c:
            return int(c.execute(select(func.count()).select_from(s).where(s.c.active.is_(True))).scalar_one())

    def is_active(self, chat_id: int) -> bool:
        s = t.subscriptions
        with self.db.read() as c:
            return bool(c.execute(select(s.c.active).where(s.c.chat_id == chat_id)).scalar_one_or_none())


@dataclass(frozen=True)
class Stats:
    questions: int
    answered: int
    up: int
    down: int
    subscribers: int
    users: int
    top_unanswered: list[tuple[str, int]]


class Questions:
    """Questions asked (kept for the retention period), counters per day (kept), votes, and the
    questions left unanswered (for admins)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._statements: tuple[Any, Any, Any] | None = None

    def record(self, user_id: int, question: str, matched: bool, score: int, answer_key: str | None) -> int:
        """Stores one asked question and returns its id, which the vote buttons carry."""
        with self.db.write(log=True) as c:
            return self.record_in(c, user_id, question, matched, score, answer_key)

    def record_in(self, c: Connection, user_id: int, question: str, matched: bool, score: int,
                  answer_key: str | None) -> int:
        return self.record_many_in(c, [(user_id, question, matched, score, answer_key)])[0]

    def record_many_in(self, c: Connection, asked: list[tuple[int, str, bool, int, str | None]]) -> list[int]:
        """Logs questions (user, question, matched, score, answer key) and returns their ids, in
        order. A few statements however many questions: each statement costs far more in
        SQLAlchemy than its rows cost in the database (built once, see `_log_statements`)."""
        now = _now()
        rows = [{"user_id": user_id, "question": question.strip()[:500], "matched": matched, "score": score,
                 "answer_key": answer_key, "at": now} for user_id, question, matched, score, answer_key in asked]
        ask, count, miss = self._log_statements()
        ids = [int(i) for i in c.execute(ask, rows).scalars()]
        answered = sum(int(row["matched"]) for row in rows)
        c.execute(count, {"day": day_of(now), "questions": len(rows), "answered": answered})
        missed: dict[str, dict[str, Any]] = {}
        for row in rows:
            if not row["matched"]:
                key = normalise(row["question"])[:200]
                if key in missed:
                    missed[key]["count"] += 1
                    missed[key]["sample"] = row["question"]  # the latest asking, as one at a time would leave it
                else:
                    missed[key] = {"key": key, "sample": row["question"], "count": 1, "first": now, "last": now,
                                   "status": "open"}
        if missed:
            c.execute(miss, list(missed.values()))
        return ids

    def _log_statements(self) -> tuple[Any, Any, Any]:
        """The question log's three statements, built once: building an upsert (its SET clause's
        expressions, `excluded`) took longer than running it, on every batch of answers."""
        if self._statements is None:
            dialect = postgresql if self.db.dialect == "postgresql" else sqlite
            ask = insert(t.questions).returning(t.questions.c.id, sort_by_parameter_order=True)
            d = t.daily_stats
            count = dialect.insert(d).values(day=bindparam("day"), questions=bindparam("questions"),
                                             answered=bindparam("answered"), up=0, down=0)
            count = count.on_conflict_do_update(index_elements=["day"], set_={
                "questions": d.c.questions + count.excluded.questions,
                "answered": d.c.answered + count.excluded.answered})
            u = t.unanswered
            miss = dialect.insert(u)
            miss = miss.on_conflict_do_update(index_elements=["key"], set_={
                "count": u.c.count + miss.excluded["count"], "last": miss.excluded["last"],
                "sample": miss.excluded["sample"]})
            self._statements = (ask, count, miss)
        return self._statements

    def exists(self, answer_id: int) -> bool:
        with self.db.read() as c:
            return c.execute(select(t.questions.c.id).where(t.questions.c.id == answer_id)).first() is not None

    def vote(self, answer_id: int, user_id: int, helpful: bool) -> bool | None:
        """One vote per user and answer, only by the user who asked; voting again replaces the
        earlier vote. True for a first vote, False for a later one, None (nothing stored) for an
        unknown answer or someone else's."""
        v, d = t.votes, t.daily_stats
        with self.db.write(log=True) as c:
            asker = c.execute(select(t.questions.c.user_id).where(t.questions.c.id == answer_id)).scalar_one_or_none()
            if asker is None or int(asker) != user_id:
                return None
            old = c.execute(select(v.c.helpful, v.c.day).where(v.c.question_id == answer_id, v.c.user_id == user_id)
                            ).first()
            now = _now()
            if old is None:
                day = day_of(now)
                c.execute(insert(v).values(question_id=answer_id, user_id=user_id, helpful=helpful, day=day, at=now))
                self.db.upsert(c, d, {"day": day, "questions": 0, "answered": 0, "up": int(helpful),
                                      "down": int(not helpful)},
                               ["day"], {"up": d.c.up + int(helpful), "down": d.c.down + int(not helpful)})
            elif bool(old.helpful) != helpful:
                c.execute(update(v).where(v.c.question_id == answer_id, v.c.user_id == user_id)
                          .values(helpful=helpful, at=now))
                step = 1 if helpful else -1
                c.execute(update(d).where(d.c.day == old.day).values(up=d.c.up + step, down=d.c.down - step))
            return old is None

    def report(self, answer_id: int, user_id: int) -> str | None:
        """After a 👎: the asker's question goes (back) to the unanswered review. Returns the question,
        or None for an unknown answer or someone else's."""
        with self.db.write() as c:
            row = c.execute(select(t.questions.c.user_id, t.questions.c.question)
                            .where(t.questions.c.id == answer_id)).first()
            if row is None or int(row.user_id) != user_id:
                return None
            question, now, u = str(row.question), _now(), t.unanswered
            self.db.upsert(c, u, {"key": normalise(question)[:200], "sample": question, "count": 1, "first": now,
                                  "last": now, "status": "open"},
                           ["key"], {"count": u.c.count + 1, "last": now, "status": "open"})
            return question

    def votes_of(self, user_id: int) -> list[tuple[int, bool]]:
        v = t.votes
        with self.db.read() as c:
            return [(int(r.question_id), bool(r.helpful)) for r in c.execute(
                select(v.c.question_id, v.c.helpful).where(v.c.user_id == user_id).order_by(v.c.question_id))]

    def all_votes(self) -> list[tuple[int, int]]:
        """(answer id, user) of every vote kept."""
        v = t.votes
        with self.db.read() as c:
            return [(int(r.question_id), int(r.user_id)) for r in c.execute(select(v.c.question_id, v.c.user_id))]

    def recent_unanswered(self, limit: int = 20) -> list[dict[str, Any]]:
        """Open unanswered questions, newest first."""
        u = t.unanswered
        with self.db.read() as c:
            return _rows(c.execute(select(u).where(u.c.status == "open").order_by(u.c.last.desc()).limit(limit)))

    def unanswered_sample(self, row_id: int) -> str | None:
        u = t.unanswered
        with self.db.read() as c:
            row = c.execute(select(u.c.sample, u.c.status).where(u.c.id == row_id)).first()
        return str(row.sample) if row and row.status == "open" else None

    def close_unanswered(self, row_ids: list[int], status: str) -> int:
        """Marks unanswered questions attached or dismissed; returns how many were still open."""
        u = t.unanswered
        with self.db.write() as c:
            return c.execute(update(u).where(u.c.id.in_(row_ids), u.c.status == "open")
                             .values(status=status, closed=_now())).rowcount

    def stats(self, subscribers: int, users: int, top: int = 5) -> Stats:
        d, u = t.daily_stats, t.unanswered
        with self.db.read() as c:
            totals = c.execute(select(*(func.coalesce(func.sum(column), 0)
                                        for column in (d.c.questions, d.c.answered, d.c.up, d.c.down)))).one()
            open_rows = c.execute(select(u.c.sample, u.c.count).where(u.c.status == "open")
                                  .order_by(u.c.count.desc(), u.c.last.desc()).limit(top)).all()
        return Stats(questions=int(totals[0]), answered=int(totals[1]), up=int(totals[2]), down=int(totals[3]),
                     subscribers=subscribers, users=users,
                     top_unanswered=[(str(row.sample), int(row.count)) for row in open_rows])

    def count_raw(self) -> int:
        with self.db.read() as c:
            return int(c.execute(select(func.count()).select_from(t.questions)).scalar_one())


class Buttons:
    """Tokens behind suggestion and review buttons: random, stored with an expiry, so an old or
    forged button is recognised (and answered politely) after a restart and on any instance."""

    TOKEN = r"[A-Za-z0-9_-]{12}"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.insert = insert(t.buttons)  # built once: answers issue buttons in every batch

    def issue_in(self, c: Connection, kind: str, payloads: list[str], ttl: float) -> list[str]:
        return self.issue_many_in(c, kind, [(payloads, ttl)])[0]

    def issue_many_in(self, c: Connection, kind: str, groups: list[tuple[list[str], float]]) -> list[list[str]]:
        """Tokens for several groups of buttons (payloads, ttl), in one statement."""
        now = _now()
        tokens = [[secrets.token_urlsafe(TOKEN_BYTES) for _ in payloads] for payloads, _ in groups]
        rows = [{"token": token, "kind": kind, "payload": payload, "expires": now + ttl}
                for (payloads, ttl), issued in zip(groups, tokens, strict=True)
                for token, payload in zip(issued, payloads, strict=True)]
        if rows:
            c.execute(self.insert, rows)
        return tokens

    def issue(self, kind: str, payloads: list[str], ttl: float) -> list[str]:
        with self.db.write() as c:
            return self.issue_in(c, kind, payloads, ttl)

    def recall(self, kind: str, token: str) -> str | None:
        """The payload behind a live token of this kind; None when unknown, forged or expired."""
        b = t.buttons
        with self.db.read() as c:
            row = c.execute(select(b.c.payload).where(b.c.token == token[:32], b.c.kind == kind,
                                                       b.c.expires > _now())).first()
        return str(row.payload) if row else None


@dataclass(frozen=True)
class PendingAction:
    token: str
    kind: str
    user_id: int
    payload: dict[str, Any]
    data: bytes | None


class Pending:
    """Actions waiting for the confirm button of the person who asked for them (uploads,
    broadcasts, /forget). Taking one removes it, so a double press acts once."""

    EXPIRED, NOT_YOURS = "expired", "not_yours"

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, kind: str, user_id: int, payload: dict[str, Any], ttl: float, data: bytes | None = None) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = _now()
        with self.db.write() as c:
            c.execute(insert(t.pending).values(token=token, kind=kind, user_id=user_id, created=now, expires=now + ttl,
                                               payload=json.dumps(payload, ensure_ascii=False), data=data))
        return token

    def take(self, kind: str, token: str, user_id: int) -> PendingAction | str:
        """The action (removed from the table), or EXPIRED / NOT_YOURS (then nothing changes)."""
        p = t.pending
        with self.db.write() as c:
            row = c.execute(select(p).where(p.c.token == token[:32], p.c.kind == kind)).first()
            if row is None or row.expires <= _now():
                return self.EXPIRED
            if int(row.user_id) != user_id:
                return self.NOT_YOURS
            if c.execute(delete(p).where(p.c.token == row.token)).rowcount != 1:
                return self.EXPIRED
        return PendingAction(row.token, row.kind, int(row.user_id), json.loads(row.payload),
                             bytes(row.data) if row.data is not None else None)


class Reminders:
    """One-off reminders (staff) and calendar occurrences, each fired at most once."""

    STATUSES = ("scheduled", "sent", "missed", "cancelled")

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, reminder_id: str, text: str, fire_at: float, kind: str, created_by: int | None = None) -> bool:
        """Adds a scheduled reminder; False (and no change) when the id exists already."""
        try:
            with self.db.write() as c:
                c.execute(insert(t.reminders).values(id=reminder_id, text=text, fire_at=fire_at, kind=kind,
                                                     created_by=created_by, status="scheduled", at=_now()))
        except IntegrityError:
            return False
        return True

    def get(self, reminder_id: str) -> dict[str, Any] | None:
        r = t.reminders
        with self.db.read() as c:
            rows = _rows(c.execute(select(r).where(r.c.id == reminder_id)))
        return rows[0] if rows else None

    def set_status(self, reminder_id: str, status: str, only_if: str | None = None) -> bool:
        """Changes the status; with `only_if`, only from that status (a compare-and-set)."""
        r = t.reminders
        condition = r.c.id == reminder_id
        if only_if is not None:
            condition = and_(condition, r.c.status == only_if)
        with self.db.write() as c:
            return c.execute(update(r).where(condition).values(status=status, changed=_now())).rowcount > 0

    def revise(self, reminder_id: str, text: str, fire_at: float) -> bool:
        """New text and time for a reminder not sent yet; False when it is sent, cancelled or unknown."""
        r = t.reminders
        condition = and_(r.c.id == reminder_id, r.c.status == "scheduled")
        with self.db.write() as c:
            return c.execute(update(r).where(condition).values(text=text, fire_at=fire_at,
                                                               changed=_now())).rowcount > 0

    def with_status(self, status: str) -> list[dict[str, Any]]:
        r = t.reminders
        with self.db.read() as c:
            return _rows(c.execute(select(r).where(r.c.status == status).order_by(r.c.fire_at)))

    def next_staff_number(self) -> int:
        r = t.reminders
        with self.db.read() as c:
            return 1 + int(c.execute(select(func.count()).select_from(r).where(r.c.kind == "staff")).scalar_one())


class Broadcasts:
    """Broadcast records; their recipients and outcomes are rows in `deliveries`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, broadcast_id: str, text: str, created_by: int | None, status: str = "draft",
               source: str = "staff", report_chat: int | None = None) -> bool:
        try:
            with self.db.write() as c:
                self.create_in(c, broadcast_id, text, created_by, status, source, report_chat)
        except IntegrityError:
            return False
        return True

    @staticmethod
    def create_in(c: Connection, broadcast_id: str, text: str, created_by: int | None, status: str, source: str,
                  report_chat: int | None = None) -> None:
        c.execute(insert(t.broadcasts).values(id=broadcast_id, text=text, created_by=created_by, status=status,
                                              source=source, at=_now(), report_chat=report_chat))

    def get(self, broadcast_id: str) -> dict[str, Any] | None:
        b = t.broadcasts
        with self.db.read() as c:
            rows = _rows(c.execute(select(b).where(b.c.id == broadcast_id)))
        return rows[0] if rows else None

    def update(self, broadcast_id: str, **fields: Any) -> bool:
        b = t.broadcasts
        with self.db.write() as c:
            return c.execute(update(b).where(b.c.id == broadcast_id).values(**fields)).rowcount > 0

    def update_if(self, broadcast_id: str, expected: str, **fields: Any) -> bool:
        """Updates only while the broadcast's status is `expected` (a compare-and-set)."""
        b = t.broadcasts
        with self.db.write() as c:
            return c.execute(update(b).where(b.c.id == broadcast_id, b.c.status == expected)
                             .values(**fields)).rowcount > 0

    def with_status(self, status: str) -> list[dict[str, Any]]:
        b = t.broadcasts
        with self.db.read() as c:
            return _rows(c.execute(select(b).where(b.c.status == status).order_by(b.c.at)))

    def next_number(self) -> int:
        b = t.broadcasts
        with self.db.read() as c:
            return 1 + int(c.execute(select(func.count()).select_from(b).where(b.c.source == "staff")).scalar_one())

    def start(self, broadcast_id: str, expected: tuple[str, ...] = ("draft",), report_chat: int | None = None
              ) -> int | None:
        """In one transaction: moves the broadcast from an `expected` status to running and writes one
        pending delivery per active subscriber. Returns the number of recipients, or None when the
        broadcast is not in an expected status (started already, cancelled, unknown)."""
        with self.db.write() as c:
            return self.start_in(c, broadcast_id, expected, report_chat)

    def start_in(self, c: Connection, broadcast_id: str, expected: tuple[str, ...], report_chat: int | None = None
                 ) -> int | None:
        b, s, dl = t.broadcasts, t.subscriptions, t.deliveries
        fields: dict[str, Any] = {"status": "running", "started": _now()}
        if report_chat is not None:
            fields["report_chat"] = report_chat
        if c.execute(update(b).where(b.c.id == broadcast_id, b.c.status.in_(expected)).values(**fields)).rowcount != 1:
            return None
        recipients = select(cast(literal(broadcast_id), String).label("broadcast_id"), s.c.chat_id,
                            cast(literal("pending"), String).label("status")).where(s.c.active.is_(True))
        c.execute(insert(dl).from_select(["broadcast_id", "chat_id", "status"], recipients))
        return int(c.execute(select(func.count()).select_from(dl).where(dl.c.broadcast_id == broadcast_id))
                   .scalar_one())


class Deliveries:
    """One row per (broadcast, chat): pending until handled, then sent, blocked or failed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, broadcast_id: str, limit: int = 10_000) -> list[int]:
        dl = t.deliveries
        with self.db.read() as c:
            return [int(i) for i in c.execute(select(dl.c.chat_id).where(dl.c.broadcast_id == broadcast_id,
                                                                         dl.c.status == "pending")
                                              .order_by(dl.c.chat_id).limit(limit)).scalars()]

    def record(self, broadcast_id: str, chat_id: int, status: str) -> None:
        dl = t.deliveries
        with self.db.write() as c:
            c.execute(update(dl).where(dl.c.broadcast_id == broadcast_id, dl.c.chat_id == chat_id)
                      .values(status=status, at=_now()))

    def counts(self, broadcast_id: str) -> dict[str, int]:
        dl = t.deliveries
        with self.db.read() as c:
            rows = c.execute(select(dl.c.status, func.count()).where(dl.c.broadcast_id == broadcast_id)
                             .group_by(dl.c.status)).all()
        return {str(status): int(count) for status, count in rows}

    def outcomes(self, broadcast_id: str) -> dict[int, str]:
        dl = t.deliveries
        with self.db.read() as c:
            return {int(r.chat_id): str(r.status) for r in c.execute(
                select(dl.c.chat_id, dl.c.status).where(dl.c.broadcast_id == broadcast_id))}


class Audit:
    """Staff actions (staff changes, broadcasts, schedules, uploads, rollbacks): never pruned."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, actor: int | None, action: str, target: str = "", detail: str = "") -> None:
        with self.db.write() as c:
            c.execute(insert(t.audit).values(at=_now(), actor=actor, action=action, target=target[:200],
                                             detail=detail[:2000]))

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        a = t.audit
        with self.db.read() as c:
            return _rows(c.execute(select(a).order_by(a.c.id.desc()).limit(limit)))


@dataclass(frozen=True)
class KnowledgeChange:
    id: int
    instance: str
    path: str
    content: bytes | None


class KnowledgeLog:
    """Knowledge files as changed through one instance (upload, attach, rollback), so the other
    instances sharing the database apply the same change (primary key order; no index needed)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    CHANNEL = "qbot_knowledge"  # PostgreSQL NOTIFY channel: the id of each change, sent at commit

    def add(self, instance: str, path: str, content: bytes | None) -> int:
        with self.db.write() as c:
            change = int(c.execute(insert(t.knowledge_changes).values(at=_now(), instance=instance, path=path,
                                                                      content=content)
                                   .returning(t.knowledge_changes.c.id)).scalar_one())
            if self.db.dialect == "postgresql":
                c.execute(text("SELECT pg_notify(:channel, :id)"), {"channel": self.CHANNEL, "id": str(change)})
            return change

    def last_id(self) -> int:
        with self.db.read() as c:
            return int(c.execute(select(func.coalesce(func.max(t.knowledge_changes.c.id), 0))).scalar_one())

    def since(self, last_id: int) -> list[KnowledgeChange]:
        k = t.knowledge_changes
        with self.db.read() as c:
            rows = c.execute(select(k.c.id, k.c.instance, k.c.path, k.c.content)
                             .where(k.c.id > last_id).order_by(k.c.id)).all()
        return [KnowledgeChange(int(r.id), r.instance, r.path, bytes(r.content) if r.content is not None else None)
                for r in rows]


class ChangeListener:
    """LISTEN for knowledge changes on a PostgreSQL connection of its own, on a thread: `changed()`
    is called (on that thread) for each change committed by any instance, so the others apply it
    at once instead of at their next poll. Polling stays as the fallback: a notification sent while
    this connection is being re-opened is only seen by the next poll."""

    RECONNECT_SECONDS = 5.0
    WAKE_SECONDS = 1.0  # how soon stop() is noticed while no notification comes

    def __init__(self, url: str, changed: Callable[[], None]) -> None:
        self.url = url
        self.changed = changed
        self.stopping = threading.Event()
        self.listening = threading.Event()  # set once LISTEN is in effect (tests wait for it)
        self.thread = threading.Thread(target=self._run, name="knowledge-listener", daemon=True)

    def start(self) -> ChangeListener:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=self.WAKE_SECONDS + 5)

    def _run(self) -> None:
        import psycopg

        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {KnowledgeLog.CHANNEL}")
                    self.listening.set()
                    while not self.stopping.is_set():
                        for _ in connection.notifies(timeout=self.WAKE_SECONDS):
                            self.changed()
            except Exception as error:  # the database went away: poll meanwhile, listen again later
                self.listening.clear()
                log.warning("knowledge listener: %s; relying on polling for now", error.__class__.__name__)
                self.stopping.wait(self.RECONNECT_SECONDS)


class BroadcastClaim:
    """The right to send one broadcast. On PostgreSQL a session advisory lock held on a connection of
    its own: exactly one instance sends a broadcast at a time, and when that instance dies its
    session ends, the lock goes with it, and another instance takes over from the deliveries. On
    SQLite (one instance) there is nothing to hold."""

    CLASS_ID = 726_451_002

    def __init__(self, connection: Connection | None = None) -> None:
        self.connection = connection

    def release(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock_all()"))
            self.connection.commit()
        except Exception:  # the session is unusable: drop it, which releases the lock too
            self.connection.invalidate()
        finally:
            self.connection.close()
            self.connection = None


AnswerRecord = tuple[int, str, bool, int, str | None, list[str], float]
T = TypeVar("T")


class GroupCommit(Generic[T, R]):
    """Batches items for one writer: the first item is written at once; items that arrive while
    a write is under way are written together by the next one (no timer, so no added wait when the
    bot is idle). Each caller gets its own result or exception once its batch is done."""

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R | Exception]]]) -> None:
        self.write = write
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.writing = False
        self.task: asyncio.Future[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if self.writing and self.task is not None and self.task.get_loop() is not loop:
            # A writer left on another (closed) event loop: start over on this one.
            self.writing = False
            self.waiting = [(queued, waiter) for queued, waiter in self.waiting if waiter.get_loop() is loop]
        self.waiting.append((item, future))
        if not self.writing:
            self.writing = True
            self.task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    results = await self.write([item for item, _ in batch])
                except Exception as error:
                    results = [error] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its caller gave up waiting
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.writing = False
            for _, future in batch + self.waiting:  # cancelled with the loop: nobody is left to answer
                future.cancel()
            self.waiting = []


@dataclass(frozen=True)
class Forgotten:
    questions: int
    votes: int
    subscription: bool


class Store:
    """The bot's database: SQLite in the data folder, or PostgreSQL when `url` is given."""

    def __init__(self, data_dir: Path, url: str | None = None, threads: int = 8) -> None:
        self.engine = open_engine(Path(data_dir), url)
        self.db = Database(self.engine)
        self.users = Users(self.db)
        self.staff = Staff(self.db)
        self.subscriptions = Subscriptions(self.db)
        self.questions = Questions(self.db)
        self.buttons = Buttons(self.db)
        self.pending = Pending(self.db)
        self.reminders = Reminders(self.db)
        self.broadcasts = Broadcasts(self.db)
        self.deliveries = Deliveries(self.db)
        self.audit = Audit(self.db)
        self.knowledge = KnowledgeLog(self.db)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="store")
        self.group_commit: GroupCommit[AnswerRecord, tuple[int, list[str]]] = GroupCommit(
            lambda batch: self.call(self.record_answers, batch))
        self.user_commit: GroupCommit[tuple[int, str, str], None] = GroupCommit(
            lambda batch: self.call(self.record_users, batch))

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Runs a store function on the store's threads: the event loop never waits on the disk."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: function(*args, **kwargs))

    def record_answer(self, user_id: int, question: str, matched: bool, score: int, answer_key: str | None,
                      suggestions: list[str], ttl: float) -> tuple[int, list[str]]:
        """The question log entry and the suggestion buttons' tokens, in one transaction."""
        with self.db.write(log=True) as c:
            return self._record_answers_in(c, [(user_id, question, matched, score, answer_key, suggestions, ttl)])[0]

    def _record_answers_in(self, c: Connection, batch: list[AnswerRecord]) -> list[tuple[int, list[str]]]:
        ids = self.questions.record_many_in(c, [args[:5] for args in batch])
        tokens = self.buttons.issue_many_in(c, "ask", [(args[5], args[6]) for args in batch])
        return list(zip(ids, tokens, strict=True))

    def record_answers(self, batch: list[AnswerRecord]) -> list[tuple[int, list[str]] | Exception]:
        """Several record_answer calls in one transaction: one commit (one fsync) for them all. When
        that fails, each is tried on its own, so one bad record costs only its own asker the buttons."""
        try:
            with self.db.write(log=True) as c:
                return list(self._record_answers_in(c, batch))
        except Exception:
            if len(batch) == 1:
                raise
        results: list[tuple[int, list[str]] | Exception] = []
        for args in batch:
            try:
                results.append(self.record_answer(*args))
            except Exception as error:
                results.append(error)
        return results

    async def log_answer(self, user_id: int, question: str, matched: bool, score: int, answer_key: str | None,
                         suggestions: list[str], ttl: float) -> tuple[int, list[str]]:
        """record_answer with group commit: answers asked while a commit is under way wait for the
        next one and share it. Returns once the record is committed, as record_answer does, so a
        restart of the bot never takes back an id a reply refers to (a power cut may: a vote on such
        an answer then finds no question, or one of the same citizen's, and is refused or kept)."""
        return await self.group_commit.submit((user_id, question, matched, score, answer_key, suggestions, ttl))

    def record_users(self, batch: list[tuple[int, str, str]]) -> list[Exception | None]:
        self.users.seen_many(batch)
        return [None] * len(batch)

    async def remember_user(self, user_id: int, name: str, username: str) -> None:
        """Users.seen with group commit, as log_answer: users first seen while a commit is under way
        share the next one."""
        await self.user_commit.submit((user_id, name, username))

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def fire_reminder(self, reminder_id: str, broadcast_id: str) -> bool:
        """In one transaction: the reminder goes from scheduled to sent (a compare-and-set only one
        caller wins), its broadcast is created and started with its deliveries."""
        r = t.reminders
        with self.db.write() as c:
            row = c.execute(select(r.c.text).where(r.c.id == reminder_id, r.c.status == "scheduled")).first()
            if row is None:
                return False
            if c.execute(update(r).where(r.c.id == reminder_id, r.c.status == "scheduled")
                         .values(status="sent", changed=_now())).rowcount != 1:
                return False
            exists = c.execute(select(t.broadcasts.c.id).where(t.broadcasts.c.id == broadcast_id)).first()
            if exists is None:
                Broadcasts.create_in(c, broadcast_id, row.text, None, "queued", reminder_id)
                self.broadcasts.start_in(c, broadcast_id, ("queued",))
            return True

    def listen_for_knowledge(self, changed: Callable[[], None]) -> ChangeListener | None:
        """On PostgreSQL, a started ChangeListener; None on SQLite (one instance, nobody to hear)."""
        if self.dialect != "postgresql":
            return None
        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return ChangeListener(url, changed).start()

    def claim_broadcast(self, broadcast_id: str) -> BroadcastClaim | None:
        """A claim on sending this broadcast, or None while another instance holds it."""
        if self.dialect != "postgresql":
            return BroadcastClaim()
        connection = self.engine.connect()
        try:
            claimed = connection.execute(text("SELECT pg_try_advisory_lock(:class_id, hashtext(:id))"),
                                         {"class_id": BroadcastClaim.CLASS_ID, "id": broadcast_id}).scalar()
            connection.commit()  # the lock belongs to the session, not to this transaction
        except Exception:
            connection.close()
            raise
        if not claimed:
            connection.close()
            return None
        return BroadcastClaim(connection)

    def forget(self, user_id: int) -> Forgotten:
        """Deletes a citizen's questions, votes, hand-offs, subscription, pending deliveries and user record.
        Daily counters (numbers without any text or id) stay."""
        with self.db.write() as c:
            questions = c.execute(delete(t.questions).where(t.questions.c.user_id == user_id)).rowcount
            votes = c.execute(delete(t.votes).where(t.votes.c.user_id == user_id)).rowcount
            subscribed = c.execute(delete(t.subscriptions).where(t.subscriptions.c.chat_id == user_id)).rowcount > 0
            c.execute(delete(t.deliveries).where(t.deliveries.c.chat_id == user_id,
                                                 t.deliveries.c.status == "pending"))
            c.execute(delete(t.handoffs).where(t.handoffs.c.user_id == user_id))
            c.execute(delete(t.users).where(t.users.c.id == user_id))
        # The cache of recently seen users is keyed by (id, name, username): every key of this user goes.
        self.users.known.difference_update({key for key in self.users.known if key[0] == user_id})
        return Forgotten(questions, votes, subscribed)

    def prune(self, keep_seconds: float, now: float | None = None) -> dict[str, int]:
        """Deletes raw questions, votes and unanswered samples older than the retention period, the
        deliveries of broadcasts finished before it, and expired buttons and pending actions.
        Daily counters and the audit table stay."""
        now = _now() if now is None else now
        cutoff = now - keep_seconds
        b = t.broadcasts
        with self.db.write() as c:
            finished = select(b.c.id).where(b.c.status.in_(("done", "cancelled")), b.c.at < cutoff)
            counts = {
                "questions": c.execute(delete(t.questions).where(t.questions.c.at < cutoff)).rowcount,
                "votes": c.execute(delete(t.votes).where(t.votes.c.at < cutoff)).rowcount,
                "unanswered": c.execute(delete(t.unanswered).where(t.unanswered.c.last < cutoff)).rowcount,
                "deliveries": c.execute(delete(t.deliveries).where(t.deliveries.c.broadcast_id.in_(finished)))
                .rowcount,
                "buttons": c.execute(delete(t.buttons).where(t.buttons.c.expires <= now)).rowcount,
                "handoffs": c.execute(delete(t.handoffs).where(t.handoffs.c.created < cutoff)).rowcount,
                "pending": c.execute(delete(t.pending).where(t.pending.c.expires <= now)).rowcount,
            }
        return counts

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.engine.dispose()
