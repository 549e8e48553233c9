"""A staff broadcast from draft to delivery, for every face: the draft and its confirm token, the
confirm or abort, and who is told about progress. Delivery itself is the Broadcaster's."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from bot.audit import audit
from bot.broadcasts.broadcaster import Broadcaster, ProgressCallback, Sender
from bot.confirmations import NOT_YOURS, Confirmations, StoreUnavailable
from bot.store.repositories import PendingAction, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    broadcast_id: str
    recipients: int
    token: str  # carried by the confirm and abort buttons; only its author can use it, for an hour


@dataclass(frozen=True)
class Decision:
    """What a confirm or abort button did. `status`: expired | not_yours | aborted | not_draft | started."""

    status: str
    broadcast_id: str = ""
    recipients: int = 0
    cancelled: bool = False  # for "aborted": whether the draft was still there to cancel


class BroadcastService:
    def __init__(self, broadcaster: Broadcaster, store: Store, confirmations: Confirmations) -> None:
        self.broadcaster = broadcaster
        self.store = store
        self.confirmations = confirmations

    def connect(self, sender: Sender) -> None:
        """The face that can deliver messages (Telegram) plugs itself in."""
        self.broadcaster.sender = sender

    async def draft(self, text: str, user_id: int, chat_id: int) -> Draft:
        try:
            broadcast_id, count = await self.store.call(self.broadcaster.draft, text, user_id, chat_id)
        except (SQLAlchemyError, OSError) as error:
            await self.confirmations.failed(error, "broadcast")
            raise StoreUnavailable("broadcast") from error
        token = await self.confirmations.propose("broadcast", user_id, {"id": broadcast_id})
        audit("broadcast.drafted", id=broadcast_id, by=user_id, chars=len(text))
        return Draft(broadcast_id, count, token)

    async def decide(self, token: str, user_id: int, go: bool, report_chat: int) -> Decision:
        """Confirms (the deliveries are written before any message is sent, so a crash resumes it) or
        aborts the draft behind `token`. A started broadcast is launched by the caller with its view."""
        pending = await self.confirmations.take("broadcast", token, user_id)
        if not isinstance(pending, PendingAction):
            return Decision("not_yours" if pending == NOT_YOURS else "expired")
        broadcast_id = str(pending.payload["id"])
        if not go:
            cancelled = await self.store.call(self.broadcaster.cancel, broadcast_id)
            await self.store.call(self.store.audit.add, user_id, "broadcast-abort", broadcast_id, "")
            audit("broadcast.cancelled", id=broadcast_id, by=user_id)
            return Decision("aborted", broadcast_id, cancelled=cancelled)
        total = await self.store.call(self.broadcaster.start, broadcast_id, report_chat)
        if total is None:
            return Decision("not_draft", broadcast_id)
        await self.store.call(self.store.audit.add, user_id, "broadcast-start", broadcast_id, f"{total} recipients")
        audit("broadcast.confirmed", id=broadcast_id, by=user_id, recipients=total)
        return Decision("started", broadcast_id, total)

    def launch(self, broadcast_id: str, on_progress: ProgressCallback | None = None) -> None:
        self.broadcaster.launch(broadcast_id, on_progress)

    def running(self, broadcast_id: str) -> bool:
        return broadcast_id in self.broadcaster.running

    async def stop(self) -> None:
        await self.broadcaster.stop()
