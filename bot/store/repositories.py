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
        self.known: set[int] = set()

    def seen(self, user_id: int, name: str = "") -> None:
        """Records a user once; later calls neither read nor write the file."""
        if user_id in self.known:
            return
        if not self.table.contains(_Q.id == user_id):
            self.table.insert({"id": user_id, "name": name[:64], "first_seen": _now()})
        self.known.add(user_id)

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

    def is_active(self, chat_id: int) -> bool:
        return self.table.contains((_Q.chat_id == chat_id) & (_Q.active == True))  # noqa: E712

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

    def vote(self, answer_id: int, user_id: int, helpful: bool) -> None:
        """One vote per user and answer; voting again replaces the earlier vote."""
        match = (_Q.answer == answer_id) & (_Q.user == user_id)
        if self.votes.contains(match):
            self.votes.update({"helpful": helpful, "at": _now()}, match)
        else:
            self.votes.insert({"answer": answer_id, "user": user_id, "helpful": helpful, "at": _now()})

    def recent_unanswered(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = [row for row in self.unanswered.all() if row.get("status") == "open"]
        rows.sort(key=lambda row: row["last"], reverse=True)
        return rows[:limit]

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

    def close(self) -> None:
        self.db.close()
