"""`run_bot.py db import FILE`: moves an old TinyDB `bot.json` (and the broadcast journals beside it)
into the SQL store, in one transaction. Nothing is dropped: every user, staff member, subscription,
question, vote, unanswered question, reminder and broadcast is carried over; question ids are
renumbered (votes follow them) so the import also works into a store that is already in use."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bot import strings
from bot.store import schema as t
from bot.store.repositories import Store, day_of

log = logging.getLogger(__name__)


class ImportRefused(ValueError):
    """The file cannot be imported; the message says why (one line)."""


def _table(data: dict[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = data.get(name) or {}
    if not isinstance(rows, dict):
        raise ImportRefused(f"table '{name}' is not a TinyDB table")
    return sorted(((int(doc_id), row) for doc_id, row in rows.items()), key=lambda pair: pair[0])


def _journal(folder: Path, broadcast_id: str) -> tuple[list[int] | None, dict[int, str]]:
    recipients_path = folder / f"{broadcast_id}.recipients.json"
    recipients = json.loads(recipients_path.read_text(encoding="utf-8")) if recipients_path.exists() else None
    outcomes: dict[int, str] = {}
    journal = folder / f"{broadcast_id}.journal"
    if journal.exists():
        for line in journal.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                outcomes[int(record["chat"])] = str(record["status"])
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash: that chat is delivered again
    return recipients, outcomes


def legacy_notice(store: Store, data_dir: Path) -> str | None:
    """One line for the operator when an old TinyDB bot.json sits in the data folder and nothing has
    been imported yet: the bot would otherwise start with an empty database without a word."""
    legacy = data_dir / "bot.json"
    if not legacy.is_file():
        return None
    with store.db.read() as c:
        if c.execute(select(t.audit.c.id).where(t.audit.c.action == "db-import").limit(1)).first() is not None:
            return None
    return strings.LEGACY_NOTICE.format(legacy=legacy)


def import_json(store: Store, path: Path) -> Counter[str]:
    """Imports `path`; returns how many rows of each kind were written."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ImportRefused(f"{path}: not a JSON file ({error})") from None
    if not isinstance(data, dict):
        raise ImportRefused(f"{path}: not a TinyDB database (expected a JSON object of tables)")
    journals = path.parent / "broadcasts"
    counts: Counter[str] = Counter()
    db = store.db
    with db.write() as c:
        done = c.execute(select(t.audit.c.id).where(t.audit.c.action == "db-import", t.audit.c.target == digest))
        if done.first() is not None:
            raise ImportRefused(f"{path}: this file was imported already (sha256 {digest[:12]}…)")
        for _, row in _table(data, "users"):
            db.upsert(c, t.users, {"id": int(row["id"]), "name": str(row.get("name", ""))[:64],
                                   "first_seen": float(row.get("first_seen", 0))}, ["id"], None)
            counts["users"] += 1
        for _, row in _table(data, "staff"):
            db.upsert(c, t.staff, {"user_id": int(row["id"]), "added_by": row.get("added_by"),
                                   "at": float(row.get("at", 0))}, ["user_id"], None)
            counts["staff"] += 1
        for _, row in _table(data, "subscriptions"):
            values = {"chat_id": int(row["chat_id"]), "active": bool(row.get("active")),
                      "since": float(row.get("since", 0)), "until": row.get("until"), "reason": row.get("reason")}
            db.upsert(c, t.subscriptions, values, ["chat_id"], {k: v for k, v in values.items() if k != "chat_id"})
            counts["subscriptions"] += 1
        new_ids: dict[int, int] = {}
        days: dict[str, Counter[str]] = {}
        for doc_id, row in _table(data, "questions"):
            at = float(row.get("at", 0))
            new_ids[doc_id] = int(c.execute(insert(t.questions).values(
                user_id=int(row.get("user", 0)), question=str(row.get("q", "")), matched=bool(row.get("matched")),
                score=int(row.get("score", 0)), answer_key=row.get("key"), at=at,
            ).returning(t.questions.c.id)).scalar_one())
            day = days.setdefault(day_of(at), Counter())
            day["questions"] += 1
            day["answered"] += int(bool(row.get("matched")))
            counts["questions"] += 1
        for _, row in _table(data, "votes"):
            question = new_ids.get(int(row.get("answer", -1)))
            if question is None:
                counts["votes without a question (skipped)"] += 1
                continue
            at = float(row.get("at", 0))
            helpful = bool(row.get("helpful"))
            db.upsert(c, t.votes, {"question_id": question, "user_id": int(row["user"]), "helpful": helpful,
                                   "day": day_of(at), "at": at}, ["question_id", "user_id"], None)
            days.setdefault(day_of(at), Counter())["up" if helpful else "down"] += 1
            counts["votes"] += 1
        d = t.daily_stats
        for day, numbers in days.items():
            values = {"day": day, **{name: numbers[name] for name in ("questions", "answered", "up", "down")}}
            db.upsert(c, d, values, ["day"], {name: getattr(d.c, name) + numbers[name]
                                              for name in ("questions", "answered", "up", "down")})
        u = t.unanswered
        for _, row in _table(data, "unanswered"):
            values = {"key": str(row["key"])[:200], "sample": str(row.get("sample", "")),
                      "count": int(row.get("count", 1)), "first": float(row.get("first", 0)),
                      "last": float(row.get("last", 0)), "status": str(row.get("status", "open")),
                      "closed": row.get("closed")}
            db.upsert(c, u, values, ["key"], {"count": u.c.count + values["count"]})
            counts["unanswered"] += 1
        for _, row in _table(data, "reminders"):
            db.upsert(c, t.reminders, {"id": str(row["id"]), "text": str(row["text"]), "fire_at": float(row["fire_at"]),
                                       "kind": str(row.get("kind", "staff")), "created_by": row.get("created_by"),
                                       "status": str(row.get("status", "scheduled")), "at": float(row.get("at", 0)),
                                       "changed": row.get("changed")}, ["id"], None)
            counts["reminders"] += 1
        for _, row in _table(data, "broadcasts"):
            broadcast_id = str(row["id"])
            status = str(row.get("status", "draft"))
            recipients, outcomes = _journal(journals, broadcast_id)
            db.upsert(c, t.broadcasts, {
                "id": broadcast_id, "text": str(row["text"]), "created_by": row.get("created_by"),
                "status": "queued" if status == "confirmed" and recipients is None else status,
                "source": str(row.get("source", "staff")), "at": float(row.get("at", 0)),
                "report_chat": row.get("created_by") if row.get("source", "staff") == "staff" else None,
                **{key: row.get(key) for key in ("started", "finished", "sent", "blocked", "failed")},
            }, ["id"], None)
            counts["broadcasts"] += 1
            if recipients is None:
                if status == "confirmed":  # stuck before its recipients were fixed (issue 13, item 1)
                    store.broadcasts.start_in(c, broadcast_id, ("queued",))
                continue
            if status == "confirmed":
                c.execute(t.broadcasts.update().where(t.broadcasts.c.id == broadcast_id).values(status="running"))
            rows = [{"broadcast_id": broadcast_id, "chat_id": int(chat), "status": outcomes.get(int(chat), "pending"),
                     "at": None} for chat in dict.fromkeys(recipients)]
            if rows:
                c.execute(insert(t.deliveries), rows)
            counts["deliveries"] += len(rows)
        c.execute(insert(t.audit).values(at=time.time(), actor=None, action="db-import", target=digest,
                                         detail=json.dumps(dict(counts), ensure_ascii=False)))
    log.info("imported %s: %s", path.name, dict(counts))
    return counts
