"""Webhook mode: Telegram (or a load balancer in front of several instances) POSTs updates to
QBOT_WEBHOOK_URL; this small HTTP server checks the secret-token header, hands each update to the
application's queue, and answers GET /healthz (200 when the database answers, 503 otherwise) and GET
/metrics (Prometheus). Without a webhook URL (polling mode) it serves only the last two."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application

from bot.operations.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # an update is a few KB; anything near this is not from Telegram
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 503: "Service Unavailable"}


class WebhookServer:
    def __init__(self, application: Application, url: str | None, secret: str, host: str, port: int) -> None:
        self.application = application
        self.path = (urlsplit(url).path or "/") if url else None
        self.secret = secret
        self.host = host
        self.port = port
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connection, self.host, self.port, limit=MAX_BODY)
        log.info("webhook server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: several requests per connection
                request = await self._read(reader)
                if request is None:
                    break
                method, path, headers, body = request
                status, payload = await self._route(method, path, headers, body)
                kind = CONTENT_TYPE if path == "/metrics" and status == 200 else "text/plain"
                keep = headers.get("connection", "").lower() != "close"
                writer.write(f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: {kind}\r\n"
                             f"Content-Length: {len(payload)}\r\nConnection: {'keep-alive' if keep else 'close'}"
                             f"\r\n\r\n".encode("latin-1") + payload)
                await writer.drain()
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
        line = await asyncio.wait_for(reader.readline(), timeout=75)
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            header = await asyncio.wait_for(reader.readline(), timeout=30)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        body = await asyncio.wait_for(reader.readexactly(length), timeout=30) if length else b""
        return method.upper(), urlsplit(target).path, headers, body

    async def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if path == "/healthz":
            return await self._health()
        if path == "/metrics":
            return 200, await self.application.bot_data["services"].ops.metrics.render()
        if self.path is None or path != self.path:
            return 404, b"not found"
        if method != "POST":
            return 405, b"POST only"
        given = headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("webhook request with a wrong or missing secret token refused")
            return 403, b"forbidden"
        try:
            update = Update.de_json(json.loads(body.decode("utf-8")), self.application.bot)
        except (ValueError, TypeError, KeyError):
            return 400, b"not an update"
        await self.application.update_queue.put(update)
        return 200, b"ok"

    async def _health(self) -> tuple[int, bytes]:
        try:
            await asyncio.wait_for(self.application.bot_data["services"].assistant.ping(), timeout=5)
        except Exception as error:  # any failure to reach the database means not healthy
            log.warning("health check failed: %s", error.__class__.__name__)
            return 503, b"database unavailable"
        return 200, b"ok"


async def serve(application: Application, url: str, secret: str, host: str, port: int,
                on_start: object, on_stop: object) -> None:
    """The application's life in webhook mode: start, register the webhook, serve until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await application.initialize()
    await on_start(application)  # type: ignore[operator]
    await application.start()
    server = WebhookServer(application, url, secret, host, port)
    await server.start()
    await application.bot.set_webhook(url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
    log.info("webhook set; serving")
    try:
        await stop.wait()
    finally:
        await server.stop()
        await application.stop()
        await on_stop(application)  # type: ignore[operator]
        await application.shutdown()
