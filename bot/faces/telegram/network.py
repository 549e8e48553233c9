"""How the bot talks to Telegram under load: updates handled concurrently but in order within a chat,
and Bot API calls retried on 429 (after `retry_after`) and on transient 5xx / network errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta; both are handled
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry = error.retry_after
    return retry.total_seconds() if isinstance(retry, dt.timedelta) else float(retry)


def order_key(update: object) -> int | None:
    """Updates with the same key are handled one after another, in the order they arrived: the
    chat's, or the user's where there is no chat (inline queries, buttons on inline messages)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class PerChatOrder(BaseUpdateProcessor):
    """Up to `max_concurrent` updates at once; within one chat, strictly in arrival order (a
    question's answer before the next question's, a confirm after the preview it confirms). A slow
    reply to one chat no longer holds up everyone else."""

    def __init__(self, max_concurrent: int = 64) -> None:
        super().__init__(max_concurrent)
        self.locks: dict[int, asyncio.Lock] = {}
        self.waiting: dict[int, int] = {}

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = order_key(update)
        if key is None:
            await super().process_update(update, coroutine)
            return
        # Taken before the first await: tasks start in arrival order and the lock is fair (FIFO).
        lock = self.locks.setdefault(key, asyncio.Lock())
        self.waiting[key] = self.waiting.get(key, 0) + 1
        try:
            async with lock:
                await super().process_update(update, coroutine)
        finally:
            self.waiting[key] -= 1
            if not self.waiting[key]:
                del self.waiting[key]
                del self.locks[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class Retrying(BaseRateLimiter[dict[str, Any]]):
    """Retries a Bot API call on 429 after `retry_after` (if at most `max_wait`), and on transient
    errors (5xx, timeouts, connection errors) with backoff; never on 400/403/401/409 or a chat
    migration, which are answers, not accidents. getUpdates has PTB's own retry loop, and the
    broadcast engine paces and retries its own sends (it passes rate_limit_args={"retry": False}).

    At most `in_flight` calls are on the wire at once; the rest wait their turn here. httpcore's
    connection pool checks every pooled connection (and every idle one against all the others) on
    each request, so one connection per concurrent update (dozens under load) made each call cost
    milliseconds of CPU; a few kept-alive connections carry the same traffic."""

    def __init__(self, attempts: int = 4, max_wait: float = 60.0, backoff: float = 0.5,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, in_flight: int = 8) -> None:
        self.attempts = attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self.sleep = sleep
        self.in_flight = in_flight
        self._slots: asyncio.Semaphore | None = None

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.in_flight)  # made on the loop that will use it

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        # getUpdates is a long poll on a connection of its own; broadcast sends are already bounded by
        # the broadcaster (8 at a time) and must not take the slots that replies to citizens need.
        if endpoint == "getUpdates" or (rate_limit_args or {}).get("retry") is False:
            return await callback(*args, **kwargs)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.in_flight)
        for attempt in range(1, self.attempts + 1):
            try:
                async with self._slots:  # not held while waiting to retry
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = retry_seconds(error)
                if attempt == self.attempts or wait > self.max_wait:
                    raise
                log.warning("%s: 429, retrying in %.1fs", endpoint, wait)
                await self.sleep(wait)
            except BadRequest:
                raise
            except NetworkError as error:  # 5xx, timeouts, connection errors
                if attempt == self.attempts:
                    raise
                wait = self.backoff * 2 ** (attempt - 1)
                log.warning("%s: %s, retrying in %.1fs", endpoint, error.__class__.__name__, wait)
                await self.sleep(wait)
        raise AssertionError("unreachable")
