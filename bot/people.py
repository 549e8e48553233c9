"""Who may do what (roles), and how often a citizen may write (flood control)."""

from __future__ import annotations

import enum
import time
from collections import defaultdict, deque
from collections.abc import Callable

from bot.store.repositories import Store


class Role(enum.IntEnum):
    CITIZEN = 0
    STAFF = 1
    ADMIN = 2


class Roles:
    """Admins come from the settings; staff from the store, managed by admins."""

    def __init__(self, admins: frozenset[int], store: Store) -> None:
        self.admins = admins
        self.store = store

    async def of(self, user_id: int) -> Role:
        if user_id in self.admins:
            return Role.ADMIN
        if await self.store.call(self.store.staff.contains, user_id):
            return Role.STAFF
        return Role.CITIZEN

    async def allows(self, user_id: int, needed: Role) -> bool:
        if needed is Role.CITIZEN:
            return True
        return await self.of(user_id) >= needed


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
