"""Concurrency and retries towards Telegram: updates of different chats run side by side while one
chat's stay in order; Bot API calls are retried on 429 and transient errors, not on refusals; the
HTTP layer sends what the Bot API documents and maps errors as PTB's own does."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.faces.telegram import network
from bot.faces.telegram.network import JsonRequest, PerChatOrder, Retrying, telegram_request
from tests.fakes import FakeTelegram
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


# --- the HTTP layer ---------------------------------------------------------------------------
async def test_calls_go_as_json_with_native_types_and_uploads_as_multipart():
    """What the Bot API documents: chat_id a number, reply_markup an object; a file a multipart part
    (uploads go through PTB's HTTPXRequest, as before)."""
    with FakeTelegram() as server:
        request = JsonRequest()
        bot = Bot(server.token, base_url=f"{server.base_url}/bot", request=request, get_updates_request=JsonRequest())
        async with bot:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("质量月是什么？", callback_data="ask:abc")]])
            sent = await bot.send_message(800001, "<b>质量月</b> & 9月", parse_mode="HTML", reply_markup=markup)
            await bot.send_document(800001, InputFile(b"a,b\n1,2\n", filename="questions-30d.csv"), caption="导出")
        text, document = [call for call in server.calls if call.method in ("sendMessage", "sendDocument")]
    assert sent.text == "质量月 & 9月" and sent.reply_markup == markup
    assert text.content_type == "application/json"
    assert text.params["chat_id"] == 800001 and text.params["text"] == "<b>质量月</b> & 9月"
    button = {"text": "质量月是什么？", "callback_data": "ask:abc"}
    assert text.params["reply_markup"] == {"inline_keyboard": [[button]]}
    assert document.content_type.startswith("multipart/form-data")
    upload = document.params["document"]
    assert (upload.filename, upload.content, document.params["caption"]) == ("questions-30d.csv", b"a,b\n1,2\n", "导出")
    assert document.params["chat_id"] == 800001


async def test_api_errors_keep_their_meaning_and_network_errors_never_show_the_token():
    with FakeTelegram() as server:
        request = JsonRequest()
        bot = Bot(server.token, base_url=f"{server.base_url}/bot", request=request, get_updates_request=JsonRequest())
        async with bot:
            server.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
            with pytest.raises(RetryAfter):
                await bot.send_message(800001, "问题")
            server.fail_next("sendMessage", 502, "Bad Gateway")
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(800001, "问题")
            server.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
            with pytest.raises(Forbidden):
                await bot.send_message(800001, "问题")
        port = server.base_url.rsplit(":", 1)[1]
    closed = JsonRequest(connect_timeout=1)  # the server is gone: nothing listens on its port any more
    await closed.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await closed.post(f"http://127.0.0.1:{port}/bot{server.token}/getMe")
    finally:
        await closed.shutdown()
    assert server.token.split(":")[1] not in str(caught.value)


async def test_a_call_that_gets_no_answer_times_out():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        await asyncio.sleep(5)
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    request = JsonRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
    finally:
        await request.shutdown()
        listener.close()


def test_a_socks_proxy_keeps_the_httpx_request(monkeypatch):
    assert isinstance(telegram_request("http://127.0.0.1:7890"), JsonRequest)
    assert isinstance(telegram_request(None), JsonRequest)
    # HTTPXRequest needs httpx[socks] for it (settings refuse a socks proxy without it).
    monkeypatch.setattr(network, "HTTPXRequest", lambda **kwargs: ("httpx", kwargs["proxy"]))
    assert telegram_request("socks5://127.0.0.1:1080") == ("httpx", "socks5://127.0.0.1:1080")


async def test_the_environment_proxy_is_honoured_unless_no_proxy_names_the_host(monkeypatch):
    """As through httpx: HTTP(S)_PROXY from the environment, NO_PROXY hosts reached directly."""
    with FakeTelegram() as server:
        monkeypatch.setenv("HTTP_PROXY", server.base_url)  # the suite's server also serves proxy requests
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        through = JsonRequest()
        await through.initialize()
        try:
            assert b'"ok":true' in (await through.do_request(f"http://api.telegram.invalid/bot{server.token}/getMe",
                                                             "POST"))[1].replace(b" ", b"")
        finally:
            await through.shutdown()
        monkeypatch.setenv("NO_PROXY", "api.telegram.invalid")
        direct = JsonRequest(connect_timeout=2)
        await direct.initialize()
        try:
            with pytest.raises(NetworkError):  # the name does not resolve: the proxy was not used
                await direct.post(f"http://api.telegram.invalid/bot{server.token}/getMe")
        finally:
            await direct.shutdown()


async def test_the_direct_lane_reads_every_response_framing_and_keeps_connections_alive():
    """Bot API calls without a proxy go over kept-alive connections of JsonRequest's own: a response
    framed by Content-Length (in pieces), chunked (with a trailer), or by the server closing is read
    whole; a connection is used again unless the server said it would close it; a server that
    hangs up without answering is a NetworkError (which `Retrying` retries)."""
    accepted = 0
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), b"0"))
            body = await reader.readexactly(length)
            requests.append(head.split(b" ")[1] + b" " + body)
            path = head.split(b" ")[1].rsplit(b"/", 1)[1]
            if path == b"plain":
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\n{"ok":true,')
                await writer.drain()
                writer.write(b'"result":"a"}')
            elif path == b"chunked":
                writer.write(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"ok"\r\n')
                await writer.drain()
                writer.write(b'f\r\n:true,"result":\r\n3\r\n"b"\r\n1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n')
            elif path == b"closing":
                writer.write(b'HTTP/1.0 200 OK\r\n\r\n{"ok":true,"result":"c"}')
                writer.close()
                return
            else:  # hang up without an answer
                writer.close()
                return
            await writer.drain()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/bot1:x"
    request = JsonRequest()
    await request.initialize()
    try:
        assert await request.post(f"{base}/plain") == "a"
        assert await request.post(f"{base}/chunked", network.RequestData([])) == "b"
        assert accepted == 1  # the same connection twice
        assert await request.post(f"{base}/closing") == "c"
        assert await request.post(f"{base}/plain") == "a"
        assert accepted == 2  # the server closed the first: a new one
        with pytest.raises(NetworkError):
            await request.post(f"{base}/silent")
        assert await request.post(f"{base}/plain") == "a"
    finally:
        await request.shutdown()
        listener.close()
    assert requests[0] == b"/bot1:x/plain "
