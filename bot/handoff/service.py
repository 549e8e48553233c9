"""Hand-offs live in the store (table `handoffs`), so any instance can relay a staff member's reply to
the citizen, whichever instance forwarded the question. Store calls run on the store's threads."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from bot.store import schema as t
from bot.store.repositories import Store
from bot.text import normalise

MAX_OPEN_PER_USER = 3  # more waiting hand-offs than this from one citizen are refused (staff chat spam)
QUESTION_LIMIT = 1000  # characters of the question forwarded to the staff chat
RECENT_QUESTION = 86400.0  # "转人工" alone hands over the citizen's last question if asked within a day
ASK_FOR_PERSON = re.compile(r"^(?:请|我要|我想|帮我)?(?:转|找|联系|接通)?(?:人工|真人|工作人员)"
                             r"(?:客服|服务|咨询|回复)?(?:[:：,，\s]+(?P<rest>.+))?$", re.DOTALL)


def asks_for_person(text: str) -> tuple[bool, str]:
    """Whether a message asks for a person ("转人工", "人工客服", "转人工：问题…"), and the question
    written after it (empty when none)."""
    stripped = text.strip()
    match = ASK_FOR_PERSON.match(stripped)
    if match is None or not normalise(stripped):
        return False, ""
    return True, (match.group("rest") or "").strip()


@dataclass(frozen=True)
class Handoff:
    id: int
    user_id: int
    chat_id: int
    question: str
    status: str
    staff_chat: int | None
    staff_message: int | None
    replies: int


def _handoff(row: Any) -> Handoff:
    return Handoff(int(row.id), int(row.user_id), int(row.chat_id), str(row.question), str(row.status),
                   None if row.staff_chat is None else int(row.staff_chat),
                   None if row.staff_message is None else int(row.staff_message), int(row.replies or 0))


class TooMany(Exception):
    """The citizen already has MAX_OPEN_PER_USER hand-offs waiting."""


class HandoffService:
    def __init__(self, store: Store, staff_chat: int | None) -> None:
        self.store = store
        self.staff_chat = staff_chat

    @property
    def enabled(self) -> bool:
        return self.staff_chat is not None

    # --- synchronous parts (one transaction each) --------------------------------------------
    def _create(self, user_id: int, chat_id: int, question: str) -> Handoff:
        h = t.handoffs
        with self.store.db.write() as c:
            waiting = c.execute(select(func.count()).select_from(h)
                                .where(h.c.user_id == user_id, h.c.status == "open")).scalar_one()
            if int(waiting) >= MAX_OPEN_PER_USER:
                raise TooMany(str(user_id))
            handoff_id = int(c.execute(insert(h).values(
                user_id=user_id, chat_id=chat_id, question=question.strip()[:QUESTION_LIMIT], status="open",
                created=time.time(), staff_chat=self.staff_chat, replies=0).returning(h.c.id)).scalar_one())
            return _handoff(c.execute(select(h).where(h.c.id == handoff_id)).one())

    def _last_question(self, user_id: int) -> str | None:
        q = t.questions
        with self.store.db.read() as c:
            return c.execute(select(q.c.question).where(q.c.user_id == user_id, q.c.at >= time.time() - RECENT_QUESTION)
                             .order_by(q.c.id.desc()).limit(1)).scalar_one_or_none()

    def _question_of(self, answer_id: int, user_id: int) -> str | None:
        q = t.questions
        with self.store.db.read() as c:
            row = c.execute(select(q.c.user_id, q.c.question).where(q.c.id == answer_id)).first()
        return str(row.question) if row is not None and int(row.user_id) == user_id else None

    def _forwarded(self, handoff_id: int, staff_chat: int, message_id: int) -> None:
        h = t.handoffs
        with self.store.db.write() as c:
            c.execute(update(h).where(h.c.id == handoff_id).values(staff_chat=staff_chat, staff_message=message_id))

    def _for_reply(self, staff_chat: int, message_id: int) -> Handoff | None:
        h = t.handoffs
        with self.store.db.read() as c:
            row = c.execute(select(h).where(h.c.staff_chat == staff_chat, h.c.staff_message == message_id)).first()
        return _handoff(row) if row is not None else None

    def _replied(self, handoff_id: int, staff_user: int) -> None:
        h = t.handoffs
        with self.store.db.write() as c:
            c.execute(update(h).where(h.c.id == handoff_id).values(
                status="answered", answered=func.coalesce(h.c.answered, time.time()), answered_by=staff_user,
                replies=h.c.replies + 1))

    def _waiting(self) -> int:
        h = t.handoffs
        with self.store.db.read() as c:
            return int(c.execute(select(func.count()).select_from(h).where(h.c.status == "open")).scalar_one())

    # --- what faces call ----------------------------------------------------------------------
    async def request(self, user_id: int, chat_id: int, question: str) -> Handoff:
        """Records a hand-off (TooMany when the citizen already has enough waiting)."""
        return await self.store.call(self._create, user_id, chat_id, question)

    async def last_question(self, user_id: int) -> str | None:
        return await self.store.call(self._last_question, user_id)

    async def question_of(self, answer_id: int, user_id: int) -> str | None:
        """The question behind an answer, only for the citizen who asked it."""
        return await self.store.call(self._question_of, answer_id, user_id)

    async def forwarded(self, handoff: Handoff, staff_chat: int, message_id: int) -> None:
        """Remembers which staff-chat message carries the hand-off: replies to it go to the citizen."""
        await self.store.call(self._forwarded, handoff.id, staff_chat, message_id)

    async def for_reply(self, staff_chat: int, message_id: int) -> Handoff | None:
        return await self.store.call(self._for_reply, staff_chat, message_id)

    async def replied(self, handoff: Handoff, staff_user: int) -> None:
        await self.store.call(self._replied, handoff.id, staff_user)

    async def waiting(self) -> int:
        return await self.store.call(self._waiting)
