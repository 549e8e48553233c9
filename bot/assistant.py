"""What every face does with a citizen's question and with the citizen's and staff's records:
answering with logging, buttons, votes, subscriptions, privacy, pending confirmations, staff, totals.

Store calls run on the store's threads (`Store.call`), never on the event loop.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot import strings
from bot.answers.engine import Answer
from bot.answers.live import LiveKnowledge
from bot.confirmations import Confirmations, StoreUnavailable
from bot.curation.review import group_similar
from bot.people import FloodGuard, Roles
from bot.store.repositories import Forgotten, PendingAction, Stats, Store
from bot.text import normalise

log = logging.getLogger(__name__)
MERGE_POOL = 50  # unanswered questions read for /stats before near-identical ones are merged
BUTTON_TTL = 30 * 86400.0  # suggestion and review buttons
FORGET_TTL = 600.0


def disk_full(error: BaseException) -> bool:
    text = str(error).lower()
    return (isinstance(error, OSError) and error.errno == 28) or "disk is full" in text or "no space left" in text \
        or "could not extend file" in text or "diskfull" in text.replace(" ", "")


@dataclass
class Reply:
    """An answer as a face shows it: the answer, the logged question's id votes refer to (0: not recorded), and the
    suggestions as (button token, text); the token is empty when no button could be stored."""

    answer: Answer
    question_id: int
    suggestions: list[tuple[str, str]] = field(default_factory=list)


Alert = Callable[[str], Awaitable[None]]


class Assistant:
    """What every face does with a question and with the citizen's and staff's records."""

    def __init__(self, knowledge: LiveKnowledge, store: Store, roles: Roles, flood: FloodGuard) -> None:
        self.knowledge = knowledge
        self.store = store
        self.roles = roles
        self.flood = flood
        self.alert: Alert | None = None  # set by a face: tells admins once when the store fails
        self.alerted = False
        self.confirmations = Confirmations(store, self.store_failed)

    async def store_failed(self, error: BaseException, what: str) -> None:
        log.error("store write failed (%s): %s", what, error.__class__.__name__)
        if self.alert is not None and not self.alerted:
            self.alerted = True
            await self.alert(strings.ALERT_DISK_FULL if disk_full(error) else strings.ALERT_STORE_FAILED)

    async def _write(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        """A write that matters: StoreUnavailable (and one alert to admins) when it fails."""
        try:
            result = await self.store.call(function, *args)
        except (SQLAlchemyError, OSError) as error:
            await self.store_failed(error, what)
            raise StoreUnavailable(what) from error
        self.alerted = False
        return result

    async def answer(self, user_id: int, question: str, record: bool = True) -> Reply:
        """Answers; `record` keeps the question for statistics, votes and the unanswered review
        (inline queries are not recorded: they arrive keystroke by keystroke). The answer never
        depends on the log: when the write fails the citizen still gets it, without buttons."""
        answer = self.knowledge.ask(question)
        texts = list(answer.suggestions)
        if not record or answer.reason == "empty":
            return Reply(answer, 0, [("", text) for text in texts])
        key = answer.sources[0].title if answer.sources else None
        try:
            question_id, tokens = await self.store.log_answer(user_id, question, answer.matched, answer.score, key,
                                                              texts, BUTTON_TTL)
        except (SQLAlchemyError, OSError) as error:
            await self.store_failed(error, "question log")
            return Reply(answer, 0, [("", text) for text in texts])
        self.alerted = False
        return Reply(answer, question_id, list(zip(tokens, texts, strict=True)))

    async def seen(self, user_id: int, name: str, username: str = "") -> None:
        if (user_id, name[:64], username[:64]) in self.store.users.known:
            return
        try:
            await self.store.remember_user(user_id, name, username)
        except (SQLAlchemyError, OSError) as error:
            log.warning("could not record user: %s", error.__class__.__name__)

    # --- buttons ----------------------------------------------------------------------------
    async def buttons(self, kind: str, payloads: list[str]) -> list[str]:
        return await self.store.call(self.store.buttons.issue, kind, payloads, BUTTON_TTL)

    async def recall(self, kind: str, token: str) -> str | None:
        """The text behind a button; None for a stale or forged one (never another answer)."""
        return await self.store.call(self.store.buttons.recall, kind, token)

    async def vote(self, question_id: int, user_id: int, helpful: bool) -> bool | None:
        """True for a first vote, False for a repeated one, None when refused (not the asker's answer)."""
        return await self._write("vote", self.store.questions.vote, question_id, user_id, helpful)

    async def report(self, question_id: int, user_id: int) -> str | None:
        """What was wrong with an answer: its question goes to the unanswered review."""
        return await self._write("report", self.store.questions.report, question_id, user_id)

    async def describe_users(self, user_ids: list[int]) -> dict[int, tuple[str, str]]:
        def read() -> dict[int, tuple[str, str]]:
            return {i: known for i in user_ids if (known := self.store.users.describe(i)) is not None}

        return await self.store.call(read)

    # --- subscriptions, privacy -------------------------------------------------------------
    async def subscribe(self, chat_id: int) -> bool:
        return await self._write("subscribe", self.store.subscriptions.subscribe, chat_id)

    async def chat_blocked(self, chat_id: int) -> bool:
        """The chat blocked or left the bot: its subscription rests (True if it was active)."""
        return await self.store.call(self.store.subscriptions.blocked, chat_id)

    async def chat_resumed(self, chat_id: int) -> bool:
        """The chat unblocked the bot: a resting subscription is active again (True if it changed)."""
        return await self.store.call(self.store.subscriptions.resume, chat_id)

    async def unsubscribe(self, chat_id: int) -> bool:
        return await self._write("unsubscribe", self.store.subscriptions.unsubscribe, chat_id)

    async def ask_to_forget(self, user_id: int) -> str:
        return await self.confirmations.propose("forget", user_id, {}, ttl=FORGET_TTL)

    async def forget(self, token: str, user_id: int) -> Forgotten | str:
        taken = await self.confirmations.take("forget", token, user_id)
        if not isinstance(taken, PendingAction):
            return taken
        return await self._write("forget", self.store.forget, user_id)

    # --- staff --------------------------------------------------------------------------------
    async def audit(self, actor: int | None, action: str, target: str = "", detail: str = "") -> None:
        log.info("audit: user %s %s %s", actor, action, target)
        try:
            await self.store.call(self.store.audit.add, actor, action, target, detail)
        except (SQLAlchemyError, OSError) as error:
            await self.store_failed(error, "audit")

    async def add_staff(self, user_id: int, by: int) -> bool:
        added = await self._write("staff", self.store.staff.add, user_id, by)
        if added:
            await self.audit(by, "staff-add", str(user_id))
        return added

    async def remove_staff(self, user_id: int, by: int) -> bool:
        removed = await self._write("staff", self.store.staff.remove, user_id)
        if removed:
            await self.audit(by, "staff-remove", str(user_id))
        return removed

    async def staff_ids(self) -> list[int]:
        return await self.store.call(self.store.staff.ids)

    async def stats(self, top: int = 5) -> Stats:
        """Totals and the most asked unanswered questions, near-identical ones merged as /unanswered
        merges them (质量月几月 and 质量月是几月？ are one question)."""
        def read() -> Stats:
            return self.store.questions.stats(subscribers=self.store.subscriptions.count_active(),
                                              users=self.store.users.count(), top=MERGE_POOL)

        stats = await self.store.call(read)
        rows = [{"id": n, "key": normalise(sample), "sample": sample, "count": count}
                for n, (sample, count) in enumerate(stats.top_unanswered)]
        merged = sorted(group_similar(rows), key=lambda group: -group["count"])[:top]
        return dataclasses.replace(stats, top_unanswered=[(group["sample"], group["count"]) for group in merged])

    async def prune(self, retention_days: int) -> dict[str, int]:
        """Raw questions and votes past the retention period go; daily counts and the audit stay."""
        return await self.store.call(self.store.prune, retention_days * 86400.0)

    async def ping(self) -> None:
        """Raises when the store cannot be reached (the health check)."""
        await self.store.call(self.store.ping)

    async def unanswered(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self.store.call(self.store.questions.recent_unanswered, limit)

    async def unanswered_sample(self, ids: list[int]) -> str | None:
        def first() -> str | None:
            return next((s for i in ids if (s := self.store.questions.unanswered_sample(int(i)))), None)

        return await self.store.call(first)

    async def close_unanswered(self, ids: list[int], status: str, by: int) -> int:
        closed = await self._write("unanswered", self.store.questions.close_unanswered, ids, status)
        await self.audit(by, f"unanswered-{status}", ",".join(map(str, ids))[:200])
        return closed


def review_payload(entry_id: str | None, ids: list[int]) -> str:
    return json.dumps({"a": entry_id, "ids": ids})

