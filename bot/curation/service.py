"""Knowledge changes as admins make them, for every face: an upload planned and confirmed, a reload,
a rollback, an unanswered question attached to an entry, and the changes shared between instances
through the store. Folder work runs on a thread; store work on the store's threads."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.answers.live import LiveKnowledge
from bot.confirmations import NOT_YOURS, Confirmations
from bot.curation.folder import Change, HistoryRecord, KnowledgeFolder, StaleChange
from bot.curation.uploads import target_path
from bot.files import atomic_write
from bot.knowledge.loader import LoadResult
from bot.store.repositories import PendingAction, Store

log = logging.getLogger(__name__)
Audit = Callable[[int | None, str, str, str], Awaitable[None]]


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Proposal:
    """An upload looked at: its plan, and the token of its confirm buttons (None when it has problems)."""

    change: Change
    token: str | None


@dataclass(frozen=True)
class Outcome:
    """What a confirm or cancel button did. `status`: expired | not_yours | cancelled | problems |
    stale | failed | applied; `error` is the one-line reason of a failure."""

    status: str
    name: str = ""
    change: Change | None = None
    record: HistoryRecord | None = None
    error: str = ""


class CurationService:
    def __init__(self, files: KnowledgeFolder, knowledge: LiveKnowledge, store: Store,
                 confirmations: Confirmations, audit: Audit, instance: str) -> None:
        self.files = files
        self.knowledge = knowledge
        self.store = store
        self.confirmations = confirmations
        self.audit = audit
        self.instance = instance  # tells this process's changes from those made through other instances
        self.seen = 0  # the last shared change applied or skipped
        self.pulling = asyncio.Lock()  # a poll and a notification may meet: one pull at a time
        self.listener: Stoppable | None = None

    @property
    def version(self) -> str:
        return self.knowledge.snapshot.version

    # --- uploads ------------------------------------------------------------------------------
    @staticmethod
    def target(name: str, size: int) -> str:
        """Where an upload goes; UploadRefused when it is not looked at."""
        return target_path(name, size)

    async def propose_upload(self, user_id: int, name: str, path: str, data: bytes) -> Proposal:
        change = await asyncio.to_thread(self.files.plan, path, data)
        if not change.ok:
            return Proposal(change, None)
        token = await self.confirmations.propose("upload", user_id, {"path": change.path, "name": name,
                                                                      "base": change.base}, change.data)
        return Proposal(change, token)

    async def confirm_upload(self, token: str, user_id: int, go: bool) -> Outcome:
        pending = await self.confirmations.take("upload", token, user_id)
        if not isinstance(pending, PendingAction):
            return Outcome("not_yours" if pending == NOT_YOURS else "expired")
        if not go:
            return Outcome("cancelled")
        # Planned again from the stored bytes: the pending upload may come from before a restart.
        change = await asyncio.to_thread(self.files.plan, pending.payload["path"], pending.data or b"")
        # Applied against the file as it was when the admin saw the summary: if another admin changed it
        # since, apply refuses rather than silently dropping their update.
        change = dataclasses.replace(change, base=pending.payload.get("base", change.base))
        name = pending.payload.get("name", change.path)
        if not change.ok:
            return Outcome("problems", name, change)
        try:
            record = await asyncio.to_thread(self.files.apply, change, user_id)
        except StaleChange:
            return Outcome("stale", name, change)
        except (OSError, ValueError) as error:
            return Outcome("failed", name, change, error=str(error))
        await self.audit(user_id, "upload", change.path, record.summary)
        await self.publish(change.path)
        return Outcome("applied", name, change, record)

    # --- reload, history, rollback ------------------------------------------------------------
    async def reload(self) -> LoadResult:
        return await asyncio.to_thread(self.files.reload)

    async def history(self) -> list[HistoryRecord]:
        return await asyncio.to_thread(self.files.history)

    async def last_undoable(self) -> HistoryRecord | None:
        return next((r for r in await self.history() if r.action != "rollback" and not r.undone), None)

    async def rollback(self, wanted: str, user_id: int) -> HistoryRecord | None:
        """Undoes change `wanted` if it is still the latest one; None when it is not (stale button)."""
        last = await self.last_undoable()
        if last is None or last.id != wanted:
            return None
        record = await asyncio.to_thread(self.files.rollback, user_id)
        await self.audit(user_id, "rollback", wanted, record.summary if record else "")
        if record is not None:
            await self.publish(record.path)
        return last

    async def attach(self, entry_id: str, question: str, user_id: int) -> HistoryRecord:
        """Adds a citizen's question to an entry's alternatives; OSError or ValueError when it cannot."""
        record = await asyncio.to_thread(self.files.attach, entry_id, question, user_id)
        await self.publish(record.path)
        return record

    # --- the folder on disk -------------------------------------------------------------------
    def watch(self) -> None:
        self.files.watch()

    def stop_watching(self) -> None:
        self.files.stop_watching()

    async def reload_if_changed_on_disk(self) -> LoadResult | None:
        """The reload's result when knowledge files changed on disk since the last load, else None."""
        # The watcher's flag is all the event loop reads; the folder walk that confirms it runs on a thread.
        if not self.files.maybe_changed() or not await asyncio.to_thread(self.files.changed_on_disk):
            return None
        return await self.reload()

    # --- changes shared between instances -----------------------------------------------------
    async def publish(self, path: str) -> None:
        """Records the file as it is now on this instance, for the other instances to apply."""
        target = self.files.folder / path

        def record() -> None:
            content = target.read_bytes() if target.is_file() else None
            self.store.knowledge.add(self.instance, path, content)

        try:
            await self.store.call(record)
        except (OSError, SQLAlchemyError) as error:
            log.error("could not share a knowledge change: %s", error.__class__.__name__)

    async def start_sharing(self) -> None:
        """Changes already in the log at start are in this instance's folder or superseded by it."""
        self.seen = await self.store.call(self.store.knowledge.last_id)

    async def listen(self, notified: Callable[[], None]) -> None:
        """On PostgreSQL, `notified` is called (on the listener's thread) as soon as another instance
        shares a change; elsewhere polling is all there is."""
        self.listener = await self.store.call(self.store.listen_for_knowledge, notified)

    def stop_listening(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()

    async def pull(self) -> int:
        """Applies knowledge changes made through other instances; returns how many."""
        async with self.pulling:
            return await self._pull()

    async def _pull(self) -> int:
        changes = await self.store.call(self.store.knowledge.since, self.seen)
        if not changes:
            return 0
        self.seen = changes[-1].id
        changes = [change for change in changes if change.instance != self.instance]
        if not changes:
            return 0

        def apply() -> None:
            for change in changes:
                if change.path.startswith("/") or ".." in change.path.split("/"):
                    continue
                target = self.files.folder / change.path
                if change.content is None:
                    target.unlink(missing_ok=True)
                else:
                    atomic_write(target, change.content)
            self.files.reload()

        await asyncio.to_thread(apply)
        log.info("applied %d knowledge change(s) made through other instances", len(changes))
        return len(changes)
