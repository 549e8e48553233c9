"""Concurrency and retries towards Telegram: updates of different chats run side by side while one
chat's stay in order; Bot API calls are retried on 429 and transient errors, not on refusals."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.faces.telegram.network import PerChatOrder, Retrying
from tests.recording import BOT_ID
from tests.test_telegram_handlers import message_update

# Constructing RetryAfter warns that its attribute's type will change in PTB 23; the code reads both.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def update_for(chat: int) -> Update:
    return Update.de_json(message_update(chat, "问题"), None)


async def test_one_chat_in_order_other_chats_not_held_up():
    processor = PerChatOrder(max_concurrent=16)
    release_first = asyncio.Event()
    order: list[str] = []

    async def handle(label: str, wait: asyncio.Event | None = None) -> None:
        order.append(f"start {label}")
        if wait is not None:
            await wait.wait()
        order.append(f"end {label}")

    slow = asyncio.ensure_future(processor.process_update(update_for(1), handle("a1", release_first)))
    second = asyncio.ensure_future(processor.process_update(update_for(1), handle("a2")))
    other = asyncio.ensure_future(processor.process_update(update_for(2), handle("b1")))
    await other  # chat 2 is answered while chat 1's first update is still waiting
    assert order == ["start a1", "start b1", "end b1"]
    release_first.set()
    await asyncio.gather(slow, second)
    assert order[3:] == ["end a1", "start a2", "end a2"]
    assert processor.locks == {} and processor.waiting == {}


class Flaky:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return True


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def limiter(waits: list[float]) -> Retrying:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return Retrying(attempts=4, max_wait=60, backoff=0.5, sleep=sleep)


async def call(limiter: Retrying, flaky: Flaky, endpoint: str = "sendMessage", args: dict | None = None):
    return await limiter.process_request(flaky, (), {}, endpoint, {"chat_id": BOT_ID}, args)


async def test_429_waits_retry_after_then_succeeds(limiter, waits):
    flaky = Flaky([RetryAfter(dt.timedelta(seconds=3)), NetworkError("Bad Gateway (502)"), TimedOut()])
    assert await call(limiter, flaky) is True
    assert flaky.calls == 4 and waits == [3.0, 1.0, 2.0]


async def test_refusals_are_not_retried_and_transient_errors_give_up_after_the_attempts(limiter, waits):
    for refusal in (BadRequest("message is too long"), Forbidden("blocked")):
        flaky = Flaky([refusal])
        with pytest.raises(type(refusal)):
            await call(limiter, flaky)
        assert flaky.calls == 1
    flaky = Flaky([NetworkError("Internal Server Error (500)")] * 10)
    with pytest.raises(NetworkError):
        await call(limiter, flaky)
    assert flaky.calls == 4
    too_long = Flaky([RetryAfter(dt.timedelta(seconds=3600))])
    with pytest.raises(RetryAfter):
        await call(limiter, too_long)


async def test_get_updates_and_broadcast_sends_are_left_to_their_own_loops(limiter):
    for endpoint, args in (("getUpdates", None), ("sendMessage", {"retry": False})):
        flaky = Flaky([NetworkError("Bad Gateway (502)")])
        with pytest.raises(NetworkError):
            await call(limiter, flaky, endpoint, args)
        assert flaky.calls == 1


async def test_at_most_in_flight_calls_are_on_the_wire_and_broadcast_sends_do_not_take_their_slots():
    limiter = Retrying(in_flight=2)
    await limiter.initialize()
    on_the_wire, most = 0, 0
    gate = asyncio.Event()

    async def slow() -> bool:
        nonlocal on_the_wire, most
        on_the_wire += 1
        most = max(most, on_the_wire)
        await gate.wait()
        on_the_wire -= 1
        return True

    replies = [asyncio.ensure_future(limiter.process_request(slow, (), {}, "sendMessage", {}, None)) for _ in range(6)]
    await asyncio.sleep(0)  # let every call reach the limiter
    assert on_the_wire == 2
    broadcast = asyncio.ensure_future(limiter.process_request(slow, (), {}, "sendMessage", {}, {"retry": False}))
    await asyncio.sleep(0)
    assert on_the_wire == 3  # the broadcast send went past the two replies' slots
    gate.set()
    assert all(await asyncio.gather(*replies, broadcast))
    assert most == 3
