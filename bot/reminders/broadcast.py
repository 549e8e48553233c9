"""The delivery engine: sends one text to many chats, paced under Telegram's limits, resumable.

Guarantees:
- Pacing: at most `rate` messages per second overall and one per second to any chat.
- 429: every sender pauses for `retry_after`, then the message is retried.
- Blocked / deactivated (403): the subscriber is marked inactive and not retried.
- Chat migrated: the subscription moves to the new id and the message is retried there.
- Network errors: retried with exponential backoff, a bounded number of times, then counted failed.
- Durability: the recipient list is fixed when the broadcast starts; every outcome is appended to a
  journal (one line per chat, flushed to the OS at once, fsynced in batches), so a restart resumes
  where it stopped. Only messages in flight at a crash (at most `in_flight`) can be sent twice.
  One append per delivery keeps 10,000 deliveries from becoming 10,000 rewrites of the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.audit import audit
from bot.store.repositories import Store
from bot.store.storage import private_folder

log = logging.getLogger(__name__)

SENT, BLOCKED, FAILED = "sent", "blocked", "failed"
FSYNC_EVERY = 50
MAX_ATTEMPTS = 4


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class Blocked(Exception):
    """The chat blocked the bot, was deleted or deactivated: never retry."""


class Migrated(Exception):
    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Transient(Exception):
    """A network error or timeout: worth retrying."""


class Rejected(Exception):
    """The server refused this message for good (bad request): count it failed, do not retry."""


class Sender(Protocol):
    async def send(self, chat_id: int, text: str) -> None: ...


@dataclass
class Progress:
    broadcast_id: str
    total: int
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    done: bool = False
    cancelled: bool = False

    @property
    def handled(self) -> int:
        return self.sent + self.blocked + self.failed


class Journal:
    """Append-only outcomes of one broadcast: `{"chat": id, "status": ...}` per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # private, like the database
        self.handle = os.fdopen(descriptor, "a", encoding="utf-8")
        self.unsynced = 0

    @staticmethod
    def read(path: Path) -> dict[int, str]:
        outcomes: dict[int, str] = {}
        if not path.exists():
            return outcomes
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                outcomes[int(record["chat"])] = str(record["status"])
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash: that chat is simply delivered again
        return outcomes

    def record(self, chat_id: int, status: str) -> None:
        self.handle.write(json.dumps({"chat": chat_id, "status": status}) + "\n")
        self.handle.flush()  # in the OS now: survives the process being killed
        self.unsynced += 1
        if self.unsynced >= FSYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        os.fsync(self.handle.fileno())  # survives a power cut too
        self.unsynced = 0

    def close(self) -> None:
        self.sync()
        self.handle.close()


class Pacer:
    """A global message rate, a per-chat minimum gap, and a shared pause after a 429."""

    def __init__(self, rate: float | None, per_chat_gap: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.per_chat_gap = per_chat_gap
        self.clock = clock
        self.sleep = sleep
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.last_to_chat: dict[int, float] = {}

    async def wait_turn(self, chat_id: int) -> None:
        while True:
            now = self.clock()
            ready = max(self.paused_until, self.last_to_chat.get(chat_id, -1e9) + self.per_chat_gap)
            if ready > now:
                await self.sleep(ready - now)
                continue
            if self.next_slot > now:
                await self.sleep(self.next_slot - now)
                continue
            self.next_slot = max(now, self.next_slot) + self.interval
            self.last_to_chat[chat_id] = now
            return

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)


ProgressCallback = Callable[[Progress], Awaitable[None]]


class Broadcaster:
    """Runs broadcasts stored in `store.broadcasts`; journals live in `folder`."""

    def __init__(self, store: Store, sender: Sender, folder: Path, rate: float | None = 25.0, in_flight: int = 8,
                 progress_every: float = 3.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store = store
        self.sender = sender
        self.folder = private_folder(folder)
        self.rate = rate
        self.in_flight = in_flight
        self.progress_every = progress_every
        self.clock = clock
        self.sleep = sleep
        self.cancelled: set[str] = set()
        self.running: dict[str, asyncio.Task[Progress]] = {}

    def recipients_path(self, broadcast_id: str) -> Path:
        return self.folder / f"{broadcast_id}.recipients.json"

    def journal_path(self, broadcast_id: str) -> Path:
        return self.folder / f"{broadcast_id}.journal"

    def start(self, broadcast_id: str) -> int:
        """Fixes the recipients (active subscribers now) and marks the broadcast running. Idempotent:
        a broadcast that was started before keeps its original list."""
        path = self.recipients_path(broadcast_id)
        if not path.exists():
            recipients = self.store.subscriptions.active_ids()
            temporary = path.with_suffix(".tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(recipients))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        self.store.broadcasts.update(broadcast_id, status="running", started=time.time())
        return len(json.loads(path.read_text(encoding="utf-8")))

    def progress(self, broadcast_id: str) -> Progress:
        recipients = json.loads(self.recipients_path(broadcast_id).read_text(encoding="utf-8"))
        outcomes = Journal.read(self.journal_path(broadcast_id))
        counts = [outcomes.get(chat) for chat in recipients]
        return Progress(broadcast_id, len(recipients), counts.count(SENT), counts.count(BLOCKED),
                        counts.count(FAILED))

    def cancel(self, broadcast_id: str) -> bool:
        record = self.store.broadcasts.get(broadcast_id)
        if record is None or record["status"] not in ("draft", "running"):
            return False
        self.cancelled.add(broadcast_id)
        self.store.broadcasts.update(broadcast_id, status="cancelled")
        return True

    async def run(self, broadcast_id: str, on_progress: ProgressCallback | None = None) -> Progress:
        """Delivers to every recipient not yet in the journal; returns the final counts."""
        record = self.store.broadcasts.get(broadcast_id)
        if record is None:
            raise KeyError(broadcast_id)
        text = record["text"]
        recipients: list[int] = json.loads(self.recipients_path(broadcast_id).read_text(encoding="utf-8"))
        done = Journal.read(self.journal_path(broadcast_id))
        progress = self.progress(broadcast_id)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for chat in recipients:
            if chat not in done:
                queue.put_nowait(chat)
        pacer = Pacer(self.rate, clock=self.clock, sleep=self.sleep)
        journal = Journal(self.journal_path(broadcast_id))
        reporter = _Reporter(progress, on_progress, self.progress_every, self.clock)
        log.info("broadcast %s: %d recipients, %d left", broadcast_id, len(recipients), queue.qsize())

        async def worker() -> None:
            while broadcast_id not in self.cancelled:
                try:
                    chat = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                status = await self._deliver(chat, text, pacer)
                journal.record(chat, status)
                setattr(progress, status, getattr(progress, status) + 1)
                await reporter.maybe()

        try:
            await asyncio.gather(*(worker() for _ in range(max(1, self.in_flight))))
        finally:
            journal.close()
        progress.cancelled = broadcast_id in self.cancelled
        progress.done = True
        if not progress.cancelled:
            self.store.broadcasts.update(broadcast_id, status="done", finished=time.time(), sent=progress.sent,
                                         blocked=progress.blocked, failed=progress.failed)
        await reporter.final()
        audit("broadcast.finished", id=broadcast_id, sent=progress.sent, blocked=progress.blocked,
              failed=progress.failed, total=progress.total, cancelled=progress.cancelled)
        return progress

    async def _deliver(self, chat: int, text: str, pacer: Pacer) -> str:
        target = chat
        for attempt in range(1, MAX_ATTEMPTS + 1):
            await pacer.wait_turn(target)
            try:
                await self.sender.send(target, text)
                return SENT
            except RateLimited as error:
                log.warning("rate limited: pausing %.1fs", error.retry_after)
                pacer.pause(error.retry_after)
            except Blocked:
                self.store.subscriptions.deactivate(chat, "blocked")
                return BLOCKED
            except Migrated as error:
                self.store.subscriptions.migrate(chat, error.new_chat_id)
                target = error.new_chat_id
            except Rejected as error:
                log.warning("message to chat %s rejected: %s", chat, error)
                return FAILED
            except Transient as error:
                if attempt == MAX_ATTEMPTS:
                    log.warning("giving up on chat %s after %d attempts: %s", chat, attempt, error)
                    return FAILED
                await self.sleep(2 ** (attempt - 1))
        return FAILED

    def launch(self, broadcast_id: str, on_progress: ProgressCallback | None = None) -> asyncio.Task[Progress]:
        """Runs a broadcast in the background (one task per broadcast, never two)."""
        task = self.running.get(broadcast_id)
        if task is None or task.done():
            task = asyncio.ensure_future(self.run(broadcast_id, on_progress))
            self.running[broadcast_id] = task
            task.add_done_callback(lambda finished: self.running.pop(broadcast_id, None))
        return task

    async def stop(self) -> None:
        """Lets running broadcasts end at shutdown; their journals make them resume on start."""
        for task in list(self.running.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class _Reporter:
    """Calls the progress callback at most every `every` seconds, and once at the end."""

    def __init__(self, progress: Progress, callback: ProgressCallback | None, every: float,
                 clock: Callable[[], float]) -> None:
        self.progress = progress
        self.callback = callback
        self.every = every
        self.clock = clock
        self.last = clock()

    async def maybe(self) -> None:
        if self.callback and self.clock() - self.last >= self.every:
            self.last = self.clock()
            await self._call()

    async def final(self) -> None:
        if self.callback:
            await self._call()

    async def _call(self) -> None:
        try:
            await self.callback(self.progress)  # type: ignore[misc]
        except Exception:  # a failed progress edit must not stop the deliveries
            log.warning("progress report failed", exc_info=True)
