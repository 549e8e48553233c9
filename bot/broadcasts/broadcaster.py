"""The delivery engine: sends one text to many chats, paced under Telegram's limits, resumable.

Guarantees:
- Pacing: at most `rate` messages per second overall and one per second to any chat.
- 429: every sender pauses for `retry_after`, then the message is retried.
- Blocked / deactivated (403): the subscriber is marked inactive and not retried.
- Chat migrated: the subscription moves to the new id and the message is retried there.
- Network errors: retried with exponential backoff, a bounded number of times, then counted failed.
- Durability: the recipients are fixed when the broadcast starts, as one `deliveries` row per chat
  written in the same transaction that marks it running (before any Telegram call). Each outcome is
  committed before that sender takes the next chat, so a restart resumes where it stopped and only
  messages in flight at a crash (at most `in_flight`) can be sent twice.
- Store calls run on the store's threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.audit import audit
from bot.store.repositories import Store

log = logging.getLogger(__name__)

SENT, BLOCKED, FAILED = "sent", "blocked", "failed"
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
    """Runs broadcasts stored in `store.broadcasts`, one `deliveries` row per recipient."""

    def __init__(self, store: Store, sender: Sender, rate: float | None = 25.0, in_flight: int = 8,
                 progress_every: float = 3.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store = store
        self.sender = sender
        self.rate = rate
        self.in_flight = in_flight
        self.progress_every = progress_every
        self.clock = clock
        self.sleep = sleep
        self.cancelled: set[str] = set()
        self.running: dict[str, asyncio.Task[Progress]] = {}

    def draft(self, text: str, created_by: int, report_chat: int | None) -> tuple[str, int]:
        """A new draft broadcast (b1, b2, …) and how many subscribers it would reach now."""
        broadcasts = self.store.broadcasts
        broadcast_id = f"b{broadcasts.next_number()}"
        while not broadcasts.create(broadcast_id, text, created_by, report_chat=report_chat):
            broadcast_id = f"b{int(broadcast_id[1:]) + 1}"
        return broadcast_id, self.store.subscriptions.count_active()

    def start(self, broadcast_id: str, report_chat: int | None = None) -> int | None:
        """Fixes the recipients (active subscribers now) and marks the broadcast running, in one
        transaction. None when it is not a draft any more (started, cancelled or unknown)."""
        return self.store.broadcasts.start(broadcast_id, ("draft", "queued"), report_chat)

    def progress(self, broadcast_id: str) -> Progress:
        counts = self.store.deliveries.counts(broadcast_id)
        return Progress(broadcast_id, sum(counts.values()), counts.get(SENT, 0), counts.get(BLOCKED, 0),
                        counts.get(FAILED, 0))

    def cancel(self, broadcast_id: str) -> bool:
        """Cancels a draft or running broadcast (compare-and-set: one of two racing calls wins)."""
        for status in ("draft", "running"):
            if self.store.broadcasts.update_if(broadcast_id, status, status="cancelled", finished=time.time()):
                self.cancelled.add(broadcast_id)
                return True
        return False

    async def run(self, broadcast_id: str, on_progress: ProgressCallback | None = None) -> Progress:
        """Delivers to every recipient still pending; returns the final counts. Does nothing (and
        returns counts not marked done) while another instance holds the broadcast's claim."""
        store = self.store
        claim = await store.call(store.claim_broadcast, broadcast_id)
        if claim is None:
            log.info("broadcast %s is being sent by another instance", broadcast_id)
            return Progress(broadcast_id, 0)
        try:
            return await self._run_claimed(broadcast_id, on_progress)
        finally:
            await store.call(claim.release)

    async def _run_claimed(self, broadcast_id: str, on_progress: ProgressCallback | None) -> Progress:
        store = self.store
        record = await store.call(store.broadcasts.get, broadcast_id)
        if record is None:
            raise KeyError(broadcast_id)
        if record["status"] != "running":  # finished or cancelled (perhaps by another instance) meanwhile
            return Progress(broadcast_id, 0)
        text = record["text"]
        # Counts and the chats still pending from one statement, so they agree with each other.
        outcomes = await store.call(store.deliveries.outcomes, broadcast_id)
        counts = Counter(outcomes.values())
        progress = Progress(broadcast_id, len(outcomes), counts[SENT], counts[BLOCKED], counts[FAILED])
        queue: asyncio.Queue[int] = asyncio.Queue()
        for chat in sorted(chat for chat, status in outcomes.items() if status == "pending"):
            queue.put_nowait(chat)
        pacer = Pacer(self.rate, clock=self.clock, sleep=self.sleep)
        reporter = _Reporter(progress, on_progress, self.progress_every, self.clock)
        log.info("broadcast %s: %d recipients, %d left", broadcast_id, progress.total, queue.qsize())

        async def worker() -> None:
            while broadcast_id not in self.cancelled:
                try:
                    chat = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                status = await self._deliver(chat, text, pacer)
                await store.call(store.deliveries.record, broadcast_id, chat, status)
                setattr(progress, status, getattr(progress, status) + 1)
                await reporter.maybe()

        await asyncio.gather(*(worker() for _ in range(max(1, self.in_flight))))
        if broadcast_id not in self.cancelled:
            record = await store.call(store.broadcasts.get, broadcast_id)
            if record and record["status"] == "cancelled":  # cancelled elsewhere (another instance)
                self.cancelled.add(broadcast_id)
        progress.cancelled = broadcast_id in self.cancelled
        progress.done = True
        if not progress.cancelled:
            await store.call(lambda: store.broadcasts.update_if(
                broadcast_id, "running", status="done", finished=time.time(), sent=progress.sent,
                blocked=progress.blocked, failed=progress.failed))
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
                await self.store.call(self.store.subscriptions.deactivate, chat, "blocked")
                return BLOCKED
            except Migrated as error:
                await self.store.call(self.store.subscriptions.migrate, chat, error.new_chat_id)
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
        """Lets running broadcasts end at shutdown; their deliveries make them resume on start."""
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
