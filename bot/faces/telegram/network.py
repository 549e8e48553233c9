"""How the bot talks to Telegram under load: updates handled concurrently but in order within a chat,
Bot API calls retried on 429 (after `retry_after`) and on transient 5xx / network errors, and the
HTTP layer they go through (`JsonRequest`)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import re
import ssl
import urllib.request
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram import Bot, Update
from telegram._utils.defaultvalue import DefaultValue  # the types of BaseRequest.do_request's signature
from telegram._utils.types import ODVInput
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor, ExtBot
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter  # RequestData's parts, as Bot._do_post makes them
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
    milliseconds of CPU; a few kept-alive connections carry the same traffic. (With `JsonRequest`
    the pool no longer costs that, and the limit still keeps the bot to a few connections, as
    uploads through HTTPXRequest and a socks proxy still need.) 16 rather than 8: when the server is
    slow to answer (a round trip to Telegram, or a local Bot API server short of CPU), 8 calls
    waiting on it held back replies the bot had ready; 1,000 questions queued at once on the shared
    2-core machine, five runs each alternating: p95 median 1.0 s with 16, 1.4 s with 8."""

    def __init__(self, attempts: int = 4, max_wait: float = 60.0, backoff: float = 0.5,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, in_flight: int = 16) -> None:
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


async def call_api(bot: Bot, method: str, payload: dict[str, Any]) -> None:
    """A Bot API call whose reply is not needed: `payload` holds plain JSON values (`None` left out).
    It goes through the bot's request object and rate limiter (`Retrying`) as the bot's own calls
    do, so retries, the in-flight limit and the mapping of errors to PTB's exceptions are the same;
    what it skips is python-telegram-bot's building of the call (defaults, one object per parameter)
    and the reading of the reply (JSON, then a Message with its chat, user and keyboard objects),
    which under load cost more CPU than the HTTP round trip: a reply through `Message.reply_text`
    took about 1.1 ms of event-loop CPU on this 2-core machine, through this about 0.5 ms."""
    request = bot.request
    url = f"{bot.base_url}/{method}"
    data = RequestData([RequestParameter(name, value, None) for name, value in payload.items() if value is not None])
    # BaseRequest.post is _request_wrapper (the call, and 4xx/5xx mapped to exceptions) plus parsing
    # the reply, which nobody reads here.
    call = request._request_wrapper
    limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
    if limiter is None:
        await call(url, "POST", data)
    else:
        await limiter.process_request(call, (url, "POST", data), {}, method, payload, None)


# --- the HTTP layer -------------------------------------------------------------------------------
_TOKEN_IN_TEXT = re.compile(r"\d{3,}:[A-Za-z0-9_-]{10,}")


def _timeout(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class _Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection of `JsonRequest`'s direct lane: a request is written in one
    piece and its response read into a buffer until it is whole (Content-Length, chunked, or until
    the server closes), then handed to the waiting call."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False
        self.reusable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream connection's transport

    def connection_lost(self, error: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            try:
                whole = self._response(eof=True)
            except ValueError:
                whole = None
            if whole is not None:
                self.waiter.set_result(whole)
            else:
                self.waiter.set_exception(ConnectionResetError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            try:
                whole = self._response(eof=False)
            except ValueError as error:  # not HTTP as we know it: this connection is done
                self.reusable = False
                self.waiter.set_exception(ConnectionError(f"malformed response: {error}"))
                return
            if whole is not None:
                self.waiter.set_result(whole)

    def request(self, head: bytes, body: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.buffer.clear()
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(head + body)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _response(self, eof: bool) -> tuple[int, bytes] | None:
        """(status, body) once the buffer holds a whole response, else None. Interim 1xx responses
        are skipped."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return None
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            if not version.startswith("HTTP/1."):
                raise ValueError(lines[0][:40])
            status = int(rest[:3])
            if status >= 200:
                break
            del self.buffer[:end + 4]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
            self.reusable = False
        start = end + 4
        if status in (204, 304):  # never a body
            return status, b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._chunked(status, start)
        if "content-length" in headers:
            length = int(headers["content-length"])
            if len(self.buffer) < start + length:
                return None
            return status, bytes(self.buffer[start:start + length])
        if not eof:  # no length given: the body ends when the server closes
            self.reusable = False
            return None
        return status, bytes(self.buffer[start:])

    def _chunked(self, status: int, position: int) -> tuple[int, bytes] | None:
        body = bytearray()
        while True:
            line_end = self.buffer.find(b"\r\n", position)
            if line_end < 0:
                return None
            size = int(bytes(self.buffer[position:line_end]).split(b";")[0].strip() or b"0", 16)
            if size == 0:  # the last chunk; the body is whole after any trailers and a blank line
                return (status, bytes(body)) if self.buffer.find(b"\r\n\r\n", line_end) >= 0 else None
            chunk_end = line_end + 2 + size
            if len(self.buffer) < chunk_end + 2:
                return None
            body += self.buffer[line_end + 2:chunk_end]
            position = chunk_end + 2


def _expire(waiter: asyncio.Future[tuple[int, bytes]]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


Origin = tuple[str, str, int]  # scheme, host name, port


class JsonRequest(BaseRequest):
    """PTB's HTTP layer, with Bot API calls sent as one JSON body: without a proxy over kept-alive
    connections of its own (`_direct`, the "direct lane"), through a proxy and for downloads on aiohttp.

    Under load most of the bot's CPU went into the HTTP layer: a sendMessage through PTB cost about
    2.2 ms of event-loop CPU with PTB's HTTPXRequest and 0.6 ms with this class, on this 2-core
    machine (PTB's own part, building the call and parsing the reply, is about 0.4 ms of either).
    httpx builds and checks each request, httpcore walks its pool, anyio wraps every read and write,
    and the form encoding quotes each byte of Chinese text in Python; aiohttp parses responses in C
    and keeps a deque of idle connections, and the JSON body is encoded in C. The Bot API takes
    application/json for every method. Calls that upload files (a /stats chart, an /export file)
    still go through PTB's HTTPXRequest: its write timeout bounds each write of a large body, which
    aiohttp cannot express (its read timeout would run while the body is still going out).

    Status codes, timeouts and errors mean what they mean for HTTPXRequest: PTB's BaseRequest maps
    4xx/5xx (and `retry_after`) to its exceptions, so `Retrying` is unchanged. A proxy is an http(s)
    URL (socks proxies keep HTTPXRequest, see `telegram_request`); without one, HTTPS_PROXY /
    HTTP_PROXY / NO_PROXY apply, as they did through httpx, read once per host (aiohttp's own
    trust_env reads them, and ~/.netrc, on two worker threads for every call)."""

    def __init__(self, connections: int = 32, read_timeout: float | None = 5.0, write_timeout: float | None = 5.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 1.0,
                 media_write_timeout: float | None = 20.0, proxy: str | None = None) -> None:
        self.connections = connections
        self.timeouts = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout,
                         "pool": pool_timeout}
        self.proxy = proxy
        self.uploads = HTTPXRequest(connection_pool_size=4, read_timeout=read_timeout, write_timeout=write_timeout,
                                    connect_timeout=connect_timeout, pool_timeout=pool_timeout,
                                    media_write_timeout=media_write_timeout, proxy=proxy)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}  # (scheme, host): the environment's proxy
        # The direct lane: where each URL goes, idle connections per (scheme, host, port), a slot per connection.
        self._targets: dict[str, tuple[Origin, str, str] | None] = {}
        self._idle: dict[Origin, collections.deque[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._tls: ssl.SSLContext | None = None

    @property
    def read_timeout(self) -> float | None:
        return self.timeouts["read"]

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # One connector per request object: the bot's calls and the getUpdates long poll each get
            # their own (PTB gives them one request object each), as with HTTPXRequest.
            connector = aiohttp.TCPConnector(limit=self.connections, limit_per_host=self.connections)
            self._session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",),
                                                  cookie_jar=aiohttp.DummyCookieJar())  # Telegram sets none
        return self._session

    def _proxy_for(self, url: str) -> str | None:
        if self.proxy is not None:
            return self.proxy
        split = urlsplit(url)
        key = (split.scheme, split.hostname or "")
        if key not in self._proxies:
            bypass = bool(key[1]) and urllib.request.proxy_bypass(key[1])
            self._proxies[key] = None if bypass else urllib.request.getproxies().get(key[0])
        return self._proxies[key]

    def _target(self, url: str) -> tuple[Origin, str, str] | None:
        """For the direct lane: (origin, Host header, path) of a URL reached without a proxy, else None."""
        if url not in self._targets:
            if len(self._targets) > 1024:  # a handful of methods in practice; never let it grow
                self._targets.clear()
            split = urlsplit(url)
            target = None
            if split.scheme in ("http", "https") and split.hostname and self._proxy_for(url) is None:
                default = 443 if split.scheme == "https" else 80
                port = split.port or default
                host = split.hostname if port == default else f"{split.hostname}:{port}"
                path = (split.path or "/") + (f"?{split.query}" if split.query else "")
                target = ((split.scheme, split.hostname, port), host, path)
            self._targets[url] = target
        return self._targets[url]

    async def _connect(self, origin: Origin, connect: float | None) -> _Connection:
        scheme, hostname, port = origin
        if scheme == "https" and self._tls is None:
            self._tls = ssl.create_default_context()
        loop = asyncio.get_running_loop()
        opening = loop.create_connection(_Connection, hostname, port, ssl=self._tls if scheme == "https" else None)
        try:
            _, connection = await asyncio.wait_for(opening, connect)
        except TimeoutError as error:
            raise TimedOut(f"connecting to {hostname}:{port} timed out") from error
        except OSError as error:
            raise NetworkError(f"connecting to {hostname}:{port} failed: {_TOKEN_IN_TEXT.sub('<token>', str(error))}") \
                from error
        return connection

    async def _direct(self, target: tuple[Origin, str, str], body: bytes | None, read: float | None,
                      connect: float | None, pool: float | None) -> tuple[int, bytes]:
        """One call on a kept-alive connection of our own. aiohttp spent about 0.2 ms of event-loop
        CPU on each call (its request and response objects, URL parsing, tracing hooks, timeouts),
        more than the rest of the round trip; this writes the request in one piece and reads the
        response whole: about 0.1 ms for the whole call (on this 2-core machine)."""
        origin, host, path = target
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.connections)
        if self._slots.locked():  # every connection busy: wait for one at most `pool` seconds
            try:
                await asyncio.wait_for(self._slots.acquire(), pool)
            except TimeoutError as error:
                raise TimedOut("pool timeout: all connections are busy") from error
        else:
            await self._slots.acquire()
        try:
            idle = self._idle.setdefault(origin, collections.deque())
            while idle and idle[-1].closed:
                idle.pop()
            connection = idle.pop() if idle else await self._connect(origin, connect)
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {self.USER_AGENT}\r\n"
            if body:
                head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            else:
                head += "Content-Length: 0\r\n\r\n"
            waiter = connection.request(head.encode("latin-1"), body or b"")
            # The response must come within the read timeout of the request going out (the long poll's
            # read timeout already includes its wait, as PTB sets it).
            timer = None if read is None else asyncio.get_running_loop().call_later(read, _expire, waiter)
            try:
                status, payload = await waiter
            except TimeoutError as error:
                connection.close()
                raise TimedOut("no response within the read timeout") from error
            except OSError as error:
                connection.close()
                raise NetworkError(f"connection to {host} failed: {_TOKEN_IN_TEXT.sub('<token>', str(error))}") \
                    from error
            except BaseException:  # cancelled: a response may still come, so the connection cannot be reused
                connection.close()
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if connection.reusable and not connection.closed:
                idle.append(connection)
            else:
                connection.close()
            return status, payload
        finally:
            self._slots.release()

    def _close_direct(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        self._slots = None  # made again on the loop that next uses it

    async def initialize(self) -> None:
        self._open()
        self._close_direct()
        await self.uploads.initialize()

    async def shutdown(self) -> None:
        self._close_direct()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        await self.uploads.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await self.uploads.do_request(url, method, request_data, read_timeout, write_timeout,
                                                 connect_timeout, pool_timeout)
        body: bytes | None = None
        if request_data is not None and (parameters := request_data.parameters):
            # Native JSON types (chat_id a number, reply_markup an object), as the Bot API documents them.
            body = json.dumps(parameters, ensure_ascii=False, separators=(",", ":")).encode()
        read = _timeout(read_timeout, self.timeouts["read"])
        write = _timeout(write_timeout, self.timeouts["write"])
        connect = _timeout(connect_timeout, self.timeouts["connect"])
        pool = _timeout(pool_timeout, self.timeouts["pool"])
        # Bot API calls without a proxy take the direct lane; downloads (GET) and proxied calls aiohttp.
        if method == "POST" and (target := self._target(url)) is not None:
            return await self._direct(target, body, read, connect, pool)
        session = self._open()
        headers = {"User-Agent": self.USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "application/json"
        # aiohttp has no write timeout of its own: the whole call is bounded by the sum of the parts,
        # which is what the separate limits allow at most. `connect` covers waiting for a pooled
        # connection as well as opening one.
        parts = [read, write, connect, pool]
        timeout = aiohttp.ClientTimeout(
            total=sum(p for p in parts if p is not None) if all(p is not None for p in parts) else None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect, sock_read=read)
        try:
            async with session.request(method, url, data=body, headers=headers, timeout=timeout,
                                       proxy=self._proxy_for(url)) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's timeouts (and asyncio's) are TimeoutErrors
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # Its text may hold the URL, which holds the token: the token is cut out.
            detail = _TOKEN_IN_TEXT.sub("<token>", str(error))
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {detail}") from error


def telegram_request(proxy: str | None = None, connections: int = 32) -> BaseRequest:
    """The request object for the bot's calls (or, with one connection, for getUpdates). aiohttp has
    no socks support: a socks5 QBOT_PROXY keeps PTB's HTTPXRequest (with httpx[socks])."""
    if proxy is not None and proxy.startswith("socks"):
        return HTTPXRequest(connection_pool_size=connections, proxy=proxy)
    return JsonRequest(connections=connections, proxy=proxy)
