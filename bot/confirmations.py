"""Actions that wait for a confirm button (a broadcast, an upload, forgetting a citizen): the one
mechanism, kept in the store so a button still works after a restart or on another instance."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.store.repositories import Pending, PendingAction, Store

log = logging.getLogger(__name__)
EXPIRED, NOT_YOURS = Pending.EXPIRED, Pending.NOT_YOURS
CONFIRM_TTL = 3600.0  # broadcast previews and uploads waiting for their confirm button


class StoreUnavailable(Exception):
    """A write that matters could not be saved (disk full, database down): the face says so."""


StoreFailed = Callable[[BaseException, str], Awaitable[None]]


async def ignore_failure(_error: BaseException, _what: str) -> None:
    return None


class Confirmations:
    """`propose` stores an action and returns the token its buttons carry; `take` hands it back once,
    to the user who proposed it, before it expires (else EXPIRED or NOT_YOURS)."""

    def __init__(self, store: Store, failed: StoreFailed = ignore_failure) -> None:
        self.store = store
        self.failed = failed

    async def propose(self, kind: str, user_id: int, payload: dict[str, Any], data: bytes | None = None,
                      ttl: float = CONFIRM_TTL) -> str:
        return await self._write(kind, self.store.pending.create, kind, user_id, payload, ttl, data)

    async def take(self, kind: str, token: str, user_id: int) -> PendingAction | str:
        return await self._write(kind, self.store.pending.take, kind, token, user_id)

    async def _write(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        try:
            return await self.store.call(function, *args)
        except (SQLAlchemyError, OSError) as error:
            await self.failed(error, what)
            raise StoreUnavailable(what) from error
