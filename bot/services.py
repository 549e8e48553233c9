"""The core services a face is given: answering with logging, roles, flood control, suggestions.

Built once in main() and passed to the faces; no face talks to TinyDB or the engine's internals.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.knowledge.model import Entry, Snapshot
from bot.search.engine import Answer, Engine
from bot.store.repositories import Stats, Store


class Role(enum.IntEnum):
    CITIZEN = 0
    STAFF = 1
    ADMIN = 2


class Roles:
    """Admins come from the settings; staff from the store, managed by admins."""

    def __init__(self, admins: frozenset[int], store: Store) -> None:
        self.admins = admins
        self.store = store

    def of(self, user_id: int) -> Role:
        if user_id in self.admins:
            return Role.ADMIN
        if self.store.staff.contains(user_id):
            return Role.STAFF
        return Role.CITIZEN

    def allows(self, user_id: int, needed: Role) -> bool:
        return self.of(user_id) >= needed


class Flood(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first message over the limit: tell the user once
    DROP = "drop"  # further messages in the same window: ignore quietly


class FloodGuard:
    """At most `limit` messages per user in a sliding window of `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.seen: dict[int, deque[float]] = defaultdict(deque)
        self.warned: set[int] = set()

    def check(self, user_id: int) -> Flood:
        now = self.clock()
        times = self.seen[user_id]
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self.warned.discard(user_id)
            return Flood.ALLOW
        if user_id in self.warned:
            return Flood.DROP
        self.warned.add(user_id)
        return Flood.WARN


class SuggestionBook:
    """Short tokens for suggested questions: button data is limited to 64 bytes, questions are not.
    Kept in memory (bounded); a button older than the book is answered with a polite 'ask again'."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self.texts: OrderedDict[str, str] = OrderedDict()
        self.tokens: dict[str, str] = {}
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    def remember(self, text: str) -> str:
        with self.lock:
            token = self.tokens.get(text)
            if token is None:
                token = format(next(self.counter), "x")
                self.tokens[text] = token
            self.texts[token] = text
            self.texts.move_to_end(token)
            while len(self.texts) > self.capacity:
                _, old = self.texts.popitem(last=False)
                self.tokens.pop(old, None)
            return token

    def recall(self, token: str) -> str | None:
        with self.lock:
            return self.texts.get(token)


class KnowledgeBase:
    """Holds the engine for the current knowledge; replacing it is one assignment (atomic), done
    only after the new engine is fully built, so no question ever sees a half-built index."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace(self, snapshot: Snapshot) -> None:
        self.engine = Engine(snapshot)

    @property
    def snapshot(self) -> Snapshot:
        return self.engine.snapshot

    def ask(self, question: str) -> Answer:
        return self.engine.ask(question)

    def entries(self, kind: str) -> list[Entry]:
        return [entry for entry in self.engine.snapshot.entries if entry.type == kind]

    def entry(self, entry_id: str) -> Entry | None:
        return next((entry for entry in self.engine.snapshot.entries if entry.id == entry_id), None)


@dataclass
class Reply:
    """An answer as a face shows it: the answer, the id votes refer to, and suggestion tokens."""

    answer: Answer
    answer_id: int
    suggestions: list[tuple[str, str]] = field(default_factory=list)  # (token, text)


class Assistant:
    """What every face does with a question: answer it, log it, remember its suggestions."""

    def __init__(self, knowledge: KnowledgeBase, store: Store, roles: Roles, flood: FloodGuard,
                 suggestions: SuggestionBook) -> None:
        self.knowledge = knowledge
        self.store = store
        self.roles = roles
        self.flood = flood
        self.suggestions = suggestions

    def answer(self, user_id: int, question: str, record: bool = True) -> Reply:
        """Answers; `record` keeps the question for statistics, votes and the unanswered review
        (inline queries are not recorded: they arrive keystroke by keystroke)."""
        answer = self.knowledge.ask(question)
        key = answer.sources[0].title if answer.sources else None
        answer_id = 0
        if record and answer.reason != "empty":
            answer_id = self.store.questions.record(user_id, question, answer.matched, answer.score, key)
        tokens = [(self.suggestions.remember(text), text) for text in answer.suggestions]
        return Reply(answer, answer_id, tokens)

    def stats(self) -> Stats:
        return self.store.questions.stats(
            subscribers=len(self.store.subscriptions.active_ids()), users=self.store.users.count()
        )
