"""Small repositories over TinyDB tables: each knows one kind of record and nothing else."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB

from bot.store.storage import AtomicJSONStorage, private_folder
from bot.text import normalise

_Q = Query()


def _now() -> float:
    return time.time()


class Users:
    def __init__(self, db: TinyDB) -> None:
        self.table = db.table("users")
        self.known: set[tuple[int, str, str]] = set()

    def seen(self, user_id: int, name: str = "", username: str = "") -> None:
        """Records a user once (name and @username kept current); later calls with the same names
        neither read nor write the file."""
        key = (user_id, name[:64], username[:64])
        if key in self.known:
            return
        row = self.table.get(_Q.id == user_id)
        if row is None:
            self.table.insert({"id": user_id, "name": name[:64], "username": username[:64], "first_seen": _now()})
        elif (row.get("name"), row.get("username", "")) != (name[:64], username[:64]):
            self.table.update({"name": name[:64], "username": username[:64]}, _Q.id == user_id)
        self.known.add(key)

    def describe(self, user_id: int) -> tuple[str, str] | None:
        """(name, username) of a user the bot has seen, else None."""
        row = self.table.get(_Q.id == user_id)
        return (str(row.get("name") or ""), str(row.get("username") or "")) if row else None

    def count(self) -> int:
        return len(self.table)


class Staff:
    def __init__(self, db: TinyDB) -> None:
        self.table = db.table("staff")

    def add(self, user_id: int, added_by: int) -> bool:
        if self.table.contains(_Q.id == user_id):
            return False
        self.table.insert({"id": user_id, "added_by": added_by, "at": _now()})
        return True

    def remove(self, user_id: int) -> bool:
        return bool(self.table.remove(_Q.id == user_id))

    def ids(self) -> list[int]:
        return sorted(int(row["id"]) for row in self.table.all())

    def contains(self, user_id: int) -> bool:
        return self.table.contains(_Q.id == user_id)


class Subscriptions:
    def __init__(self, db: TinyDB) -> None:
        self.table = db.table("subscriptions")

    def subscribe(self, chat_id: int) -> bool:
        """True when this starts (or restarts) a subscription, False when it was already active."""
        row = self.table.get(_Q.chat_id == chat_id)
        if row and row.get("active"):
            return False
        if row:
            self.table.update({"active": True, "since": _now()}, _Q.chat_id == chat_id)
        else:
            self.table.insert({"chat_id": chat_id, "active": True, "since": _now()})
        return True

    def unsubscribe(self, chat_id: int) -> bool:
        active = (_Q.chat_id == chat_id) & (_Q.active == True)  # noqa: E712
        return bool(self.table.update({"active": False, "until": _now()}, active))

    def deactivate(self, chat_id: int, reason: str) -> None:
        """The chat blocked the bot or is gone: stop sending to it, keep the record."""
        self.table.update({"active": False, "until": _now(), "reason": reason}, _Q.chat_id == chat_id)

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its subscription follows it to the new id."""
        if self.table.contains(_Q.chat_id == new_chat_id):
            self.table.update({"active": True}, _Q.chat_id == new_chat_id)
            self.table.remove(_Q.chat_id == old_chat_id)
        else:
            self.table.update({"chat_id": new_chat_id}, _Q.chat_id == old_chat_id)

    def active_ids(self) -> list[int]:
        return sorted(int(row["chat_id"]) for row in self.table.search(_Q.active == True))  # noqa: E712


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
    """Every question asked (for statistics and votes) and the ones left unanswered (for admins)."""

    def __init__(self, db: TinyDB) -> None:
        self.asked = db.table("questions")
        self.unanswered = db.table("unanswered")
        self.votes = db.table("votes")

    def record(self, user_id: int, question: str, matched: bool, score: int, answer_key: str | None) -> int:
        """Stores one asked question and returns its id, which the vote buttons carry."""
        question = question.strip()[:500]
        answer_id = self.asked.insert({"user": user_id, "q": question, "matched": matched, "score": score,
                                       "key": answer_key, "at": _now()})
        if not matched:
            key = normalise(question)[:200]
            row = self.unanswered.get(_Q.key == key)
            if row:
                self.unanswered.update({"count": row["count"] + 1, "last": _now(), "sample": question},
                                       _Q.key == key)
            else:
                self.unanswered.insert({"key": key, "sample": question, "count": 1, "first": _now(), "last": _now(),
                                        "status": "open"})
        return answer_id

    def exists(self, answer_id: int) -> bool:
        return self.asked.contains(doc_id=answer_id)

    def vote(self, answer_id: int, user_id: int, helpful: bool) -> bool:
        """One vote per user and answer; voting again replaces the earlier vote. True for a first vote."""
        match = (_Q.answer == answer_id) & (_Q.user == user_id)
        if self.votes.contains(match):
            self.votes.update({"helpful": helpful, "at": _now()}, match)
            return False
        self.votes.insert({"answer": answer_id, "user": user_id, "helpful": helpful, "at": _now()})
        return True

    def report(self, answer_id: int, reason: str) -> str | None:
        """A 👎 with its reason: the question goes to the unanswered review; returns the question."""
        row = self.asked.get(doc_id=answer_id)
        if row is None:
            return None
        question = str(row["q"])
        key = normalise(question)[:200]
        found = self.unanswered.get(_Q.key == key)
        if found and found.get("status") == "open":
            reasons = sorted({*found.get("reasons", []), reason})
            self.unanswered.update({"count": found["count"] + 1, "last": _now(), "reasons": reasons}, _Q.key == key)
        elif found:
            self.unanswered.update({"count": 1, "last": _now(), "status": "open", "reasons": [reason]}, _Q.key == key)
        else:
            self.unanswered.insert({"key": key, "sample": question, "count": 1, "first": _now(), "last": _now(),
                                    "status": "open", "reasons": [reason]})
        return question

    def recent_unanswered(self, limit: int = 20) -> list[dict[str, Any]]:
        """Open unanswered questions, newest first, each with its record id under "id"."""
        rows = [{**row, "id": row.doc_id} for row in self.unanswered.all() if row.get("status") == "open"]
        rows.sort(key=lambda row: row["last"], reverse=True)
        return rows[:limit]

    def unanswered_sample(self, row_id: int) -> str | None:
        row = self.unanswered.get(doc_id=row_id)
        return str(row["sample"]) if row and row.get("status") == "open" else None

    def close_unanswered(self, row_ids: list[int], status: str) -> int:
        """Marks unanswered questions attached or dismissed; returns how many were still open."""
        open_ids = [i for i in row_ids if (row := self.unanswered.get(doc_id=i)) and row.get("status") == "open"]
        if open_ids:
            self.unanswered.update({"status": status, "closed": _now()}, doc_ids=open_ids)
        return len(open_ids)

    def stats(self, subscribers: int, users: int, top: int = 5) -> Stats:
        asked = self.asked.all()
        votes = Counter(bool(row["helpful"]) for row in self.votes.all())
        open_rows = [row for row in self.unanswered.all() if row.get("status") == "open"]
        open_rows.sort(key=lambda row: (-row["count"], -row["last"]))
        return Stats(
            questions=len(asked),
            answered=sum(1 for row in asked if row["matched"]),
            up=votes[True],
            down=votes[False],
            subscribers=subscribers,
            users=users,
            top_unanswered=[(row["sample"], row["count"]) for row in open_rows[:top]],
        )


class Store:
    """The bot's database: one TinyDB file in the data folder, opened once in main()."""

    def __init__(self, data_dir: Path) -> None:
        self.path = private_folder(data_dir) / "bot.json"
        self.db = TinyDB(self.path, storage=AtomicJSONStorage)
        self.users = Users(self.db)
        self.staff = Staff(self.db)
        self.subscriptions = Subscriptions(self.db)
        self.questions = Questions(self.db)
        self.reminders = Reminders(self.db)
        self.broadcasts = Broadcasts(self.db)

    def close(self) -> None:
        self.db.close()


class Reminders:
    """One-off reminders (staff) and calendar occurrences, each fired at most once."""

    STATUSES = ("scheduled", "sent", "missed", "cancelled")

    def __init__(self, db: TinyDB) -> None:
        self.table = db.table("reminders")

    def add(self, reminder_id: str, text: str, fire_at: float, kind: str, created_by: int | None = None) -> bool:
        """Adds a scheduled reminder; False (and no change) when the id exists already."""
        if self.table.contains(_Q.id == reminder_id):
            return False
        self.table.insert({"id": reminder_id, "text": text, "fire_at": fire_at, "kind": kind,
                           "created_by": created_by, "status": "scheduled", "at": _now()})
        return True

    def get(self, reminder_id: str) -> dict[str, Any] | None:
        return self.table.get(_Q.id == reminder_id)  # type: ignore[return-value]

    def set_status(self, reminder_id: str, status: str, only_if: str | None = None) -> bool:
        """Changes the status; with `only_if`, only from that status (a compare-and-set)."""
        condition = _Q.id == reminder_id
        if only_if is not None:
            condition &= _Q.status == only_if
        return bool(self.table.update({"status": status, "changed": _now()}, condition))

    def with_status(self, status: str) -> list[dict[str, Any]]:
        return sorted(self.table.search(_Q.status == status), key=lambda row: row["fire_at"])

    def next_staff_number(self) -> int:
        return 1 + sum(1 for row in self.table.all() if row["kind"] == "staff")


class Broadcasts:
    """Broadcast records. Deliveries are not stored here but in a journal per broadcast (see
    bot.reminders.broadcast): TinyDB rewrites its whole file on every write."""

    def __init__(self, db: TinyDB) -> None:
        self.table = db.table("broadcasts")

    def create(self, broadcast_id: str, text: str, created_by: int | None, status: str = "draft",
               source: str = "staff") -> bool:
        if self.table.contains(_Q.id == broadcast_id):
            return False
        self.table.insert({"id": broadcast_id, "text": text, "created_by": created_by, "status": status,
                           "source": source, "at": _now()})
        return True

    def get(self, broadcast_id: str) -> dict[str, Any] | None:
        return self.table.get(_Q.id == broadcast_id)  # type: ignore[return-value]

    def update(self, broadcast_id: str, **fields: Any) -> bool:
        return bool(self.table.update(fields, _Q.id == broadcast_id))

    def update_if(self, broadcast_id: str, expected: str, **fields: Any) -> bool:
        """Updates only while the broadcast's status is `expected` (a compare-and-set)."""
        return bool(self.table.update(fields, (_Q.id == broadcast_id) & (_Q.status == expected)))

    def with_status(self, status: str) -> list[dict[str, Any]]:
        return sorted(self.table.search(_Q.status == status), key=lambda row: row["at"])

    def next_number(self) -> int:
        return 1 + sum(1 for row in self.table.all() if row.get("source") == "staff")
