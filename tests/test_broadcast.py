"""The delivery engine with an in-memory sender and a virtual clock: pacing, errors, resume. Runs on
SQLite and PostgreSQL (deliveries are rows in the store)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path

import pytest

from bot.broadcasts.broadcaster import Blocked, Broadcaster, Migrated, RateLimited, Rejected, Transient
from bot.store.repositories import Store


class VirtualClock:
    """Time that passes only when the code under test sleeps (exact for one sender at a time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


class FakeSender:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.delivered: list[tuple[int, float]] = []
        self.failures: dict[int, list[Exception]] = {}
        self.blocked: set[int] = set()

    async def send(self, chat_id: int, text: str) -> None:
        await asyncio.sleep(0)
        planned = self.failures.get(chat_id)
        if planned:
            raise planned.pop(0)
        if chat_id in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        self.delivered.append((chat_id, self.clock.now))


@pytest.fixture
def setup(store: Store):
    clock = VirtualClock()
    sender = FakeSender(clock)

    def make(subscribers: int, rate: float | None = 25.0, in_flight: int = 8) -> Broadcaster:
        for chat in range(1, subscribers + 1):
            store.subscriptions.subscribe(chat)
        store.broadcasts.create("b1", "质量月提醒", created_by=1)
        return Broadcaster(store, sender, rate=rate, in_flight=in_flight, clock=clock, sleep=clock.sleep)

    return store, clock, sender, make


async def test_paced_delivery_reaches_everyone_once_at_the_configured_rate(setup):
    store, clock, sender, make = setup
    broadcaster = make(200, rate=25.0, in_flight=1)  # one sender: the virtual clock stays exact
    assert broadcaster.start("b1") == 200
    progress = await broadcaster.run("b1")
    assert (progress.sent, progress.blocked, progress.failed, progress.done) == (200, 0, 0, True)
    assert sorted(chat for chat, _ in sender.delivered) == list(range(1, 201))
    assert 199 / 25 <= clock.now <= 199 / 25 + 0.5  # never faster than 25/s
    per_second = Counter(int(at) for _, at in sender.delivered)
    assert max(per_second.values()) <= 25
    assert store.broadcasts.get("b1")["status"] == "done"


async def test_rate_limit_pauses_then_retries_blocked_are_deactivated(setup):
    store, clock, sender, make = setup
    broadcaster = make(50, rate=None)
    sender.failures[10] = [RateLimited(5)]
    sender.blocked.update({20, 21})
    broadcaster.start("b1")
    progress = await broadcaster.run("b1")
    assert (progress.sent, progress.blocked, progress.failed) == (48, 2, 0)
    assert [chat for chat, _ in sender.delivered].count(10) == 1
    assert clock.now >= 5  # everyone waited out the 429
    assert 20 not in store.subscriptions.active_ids() and 21 not in store.subscriptions.active_ids()


async def test_migrated_chat_is_followed_and_transient_errors_are_retried_then_given_up(setup):
    store, _, sender, make = setup
    broadcaster = make(5, rate=None)
    sender.failures[2] = [Migrated(-1002)]
    sender.failures[3] = [Transient("timeout"), Transient("timeout")]
    sender.failures[4] = [Transient("down")] * 10
    sender.failures[5] = [Rejected("message is too long")]
    broadcaster.start("b1")
    progress = await broadcaster.run("b1")
    delivered = [chat for chat, _ in sender.delivered]
    assert -1002 in delivered and 2 not in delivered
    assert delivered.count(3) == 1
    assert (progress.sent, progress.failed) == (3, 2)
    assert -1002 in store.subscriptions.active_ids() and 2 not in store.subscriptions.active_ids()


async def test_resume_after_a_crash_skips_nobody_and_repeats_only_what_was_in_flight(setup):
    store, clock, sender, make = setup
    broadcaster = make(300, rate=None, in_flight=8)
    broadcaster.start("b1")
    task = asyncio.ensure_future(broadcaster.run("b1"))
    while len(sender.delivered) < 120:
        await asyncio.sleep(0)
    task.cancel()  # the process dies mid-broadcast
    with pytest.raises(asyncio.CancelledError):
        await task
    recorded = store.deliveries.counts("b1")
    assert 0 < recorded.get("sent", 0) < 300 and sum(recorded.values()) == 300
    store.subscriptions.subscribe(999)  # someone subscribing meanwhile does not change this broadcast
    restarted = Broadcaster(store, sender, rate=None, in_flight=8, clock=clock, sleep=clock.sleep)
    progress = await restarted.run("b1")
    counts = Counter(chat for chat, _ in sender.delivered)
    assert set(counts) == set(range(1, 301))
    assert sum(count - 1 for count in counts.values()) <= 8
    assert progress.sent == 300 and 999 not in counts


async def test_cancel_stops_a_running_broadcast(setup):
    store, _, sender, make = setup
    broadcaster = make(100, rate=10.0)
    broadcaster.start("b1")
    task = asyncio.ensure_future(broadcaster.run("b1"))
    while len(sender.delivered) < 10:
        await asyncio.sleep(0)
    assert broadcaster.cancel("b1")
    progress = await task
    assert progress.cancelled and progress.sent < 100
    assert store.broadcasts.get("b1")["status"] == "cancelled"
    assert not broadcaster.cancel("b1")


async def test_progress_is_reported_at_most_every_few_seconds_and_at_the_end(setup):
    _, clock, _, make = setup
    broadcaster = make(100, rate=10.0)
    broadcaster.progress_every = 3.0
    reports: list[tuple[float, int, bool]] = []

    async def report(progress):
        reports.append((clock.now, progress.handled, progress.done))

    broadcaster.start("b1")
    await broadcaster.run("b1", report)
    assert reports[-1][1:] == (100, True)
    times = [at for at, _, done in reports if not done]
    assert all(later - earlier >= 3.0 for earlier, later in itertools.pairwise(times))
    assert 2 <= len(reports) <= 5


async def test_concurrent_senders_keep_the_global_rate_in_real_time(tmp_path: Path):
    """Eight senders sharing one pacer, on the real clock: still no faster than the rate."""
    import time

    store = Store(tmp_path)
    for chat in range(1, 41):
        store.subscriptions.subscribe(chat)
    store.broadcasts.create("b1", "提醒", created_by=1)
    stamps: list[float] = []

    class Recorder:
        async def send(self, chat_id: int, text: str) -> None:
            stamps.append(time.monotonic())

    broadcaster = Broadcaster(store, Recorder(), rate=100.0, in_flight=8)
    broadcaster.start("b1")
    await broadcaster.run("b1")
    assert len(stamps) == 40
    assert stamps[-1] - stamps[0] >= 39 / 100 * 0.95
