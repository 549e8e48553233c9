"""A small fake Telegram Bot API server for end-to-end tests of the bot.

Why a real HTTP server instead of mocking ``telegram.Bot``: the point of the end-to-end tests is to run the
unmodified python-telegram-bot stack (``Application``, ``Updater``, ``HTTPXRequest``, JSON parsing, error mapping)
against something that behaves like ``api.telegram.org``.  Only the far end of the socket is fake.

What PTB 22 actually sends (see ``telegram/request/_httpxrequest.py`` and ``_requestdata.py``):

* always ``POST {base_url}{token}/{method}``; downloads are ``GET {base_file_url}{token}/{file_path}``;
* the body is ``application/x-www-form-urlencoded`` (``httpx`` ``data=``) built from
  ``RequestData.json_parameters``: ``str`` values are sent verbatim, every other value (ints, bools, lists,
  dicts) is ``json.dumps``-ed, so ``chat_id=42``, ``disable_notification=true`` and
  ``reply_markup={"inline_keyboard": ...}`` all arrive as strings;
* ``multipart/form-data`` only when a file is uploaded; the other fields are the same strings as above;
* no body at all (no Content-Type) for parameterless methods such as ``getMe``;
* ``application/json`` is never sent by PTB, but is accepted here because other clients use it.

The server is a ``ThreadingHTTPServer`` on ``127.0.0.1`` with an ephemeral port, running in a daemon thread.
All state lives behind one ``threading.Condition``, so the test-side API is safe to call from any thread or from an
asyncio test while PTB talks to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

JSONDict = dict[str, Any]
Predicate = Callable[["Call"], bool]

# Parameters whose form value is a JSON document (PTB json.dumps-es every non-str value).
_JSON_KEYS = frozenset(
    {
        "reply_markup", "commands", "results", "entities", "caption_entities", "allowed_updates", "scope",
        "link_preview_options", "reply_parameters", "media", "button", "explanation_entities", "question_entities",
        "options", "permissions", "reaction", "message_ids", "prices", "shipping_options", "menu_button", "rights",
        "stickers", "text_entities", "input_message_content",
    }
)  # fmt: skip
# Free-text or opaque-string parameters that must never be turned into numbers, bools or JSON.
_STRING_KEYS = frozenset(
    {
        "text", "caption", "query", "data", "title", "description", "short_description", "name", "question",
        "explanation", "next_offset", "switch_pm_text", "switch_pm_parameter", "start_parameter", "url", "emoji",
        "payload", "phone_number", "first_name", "last_name", "vcard", "address", "custom_title", "language_code",
        "parse_mode", "action", "secret_token", "file_id", "callback_query_id", "inline_query_id",
        "inline_message_id", "business_connection_id", "web_app_query_id", "shipping_query_id",
        "pre_checkout_query_id", "custom_emoji_id", "message_effect_id", "file_unique_id", "currency",
        "provider_token", "invite_link",
    }
)  # fmt: skip
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")
# Update types Telegram withholds unless they are asked for explicitly in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Tags Telegram accepts with parse_mode=HTML (anything else is a 400 "can't parse entities").
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span",
     "blockquote", "tg-emoji"}
)  # fmt: skip
_MEDIA_EXTRAS: dict[str, JSONDict] = {
    "document": {},
    "audio": {"duration": 1},
    "voice": {"duration": 1},
    "video": {"width": 1, "height": 1, "duration": 1},
    "animation": {"width": 1, "height": 1, "duration": 1},
    "video_note": {"length": 1, "duration": 1},
    "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False},
    "photo": {"width": 1, "height": 1},
}
_MAX_DOWNLOAD = 20 * 1024 * 1024
_BLOCKED_USER = "Forbidden: bot was blocked by the user"
_KICKED_GROUP = "Forbidden: bot was kicked from the group chat"
_BAD_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class _ApiError(Exception):
    """Raised inside a method handler; becomes an ``{"ok": false, ...}`` response."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, kept as bytes so tests can assert on what the bot uploaded."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Call:
    """One request the bot made. ``result`` is what was answered (None for errors, see ``error``)."""

    method: str
    params: JSONDict
    time: float
    result: Any = None
    error: JSONDict | None = None
    status: int = 200
    content_type: str = ""
    index: int = -1

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    parameters: JSONDict
    chat_id: int | str | None
    remaining: int


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None
    declared: bool = True  # file_size is optional in the Bot API: False leaves it out everywhere

    def as_object(self, kind: str = "document") -> JSONDict:
        """The Bot API object (Document, PhotoSize, ...) describing this file."""
        obj: JSONDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.declared:
            obj["file_size"] = len(self.content)
        if kind not in {"photo", "sticker", "video_note"}:
            if self.file_name:
                obj["file_name"] = self.file_name
            if self.mime_type:
                obj["mime_type"] = self.mime_type
        obj.update(_MEDIA_EXTRAS.get(kind, {}))
        return obj


class _TelegramHTML(HTMLParser):
    """Strips Telegram-HTML markup and reports the errors Telegram would (unsupported or unbalanced tags)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.stack: list[str] = []
        self.error: str | None = None
        starts = [0]
        for line in source.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        self._line_starts = starts

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        index = self._line_starts[min(line - 1, len(self._line_starts) - 1)] + column
        return len(self.source[:index].encode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error:
            return
        if tag not in _HTML_TAGS or (tag == "span" and ("class", "tg-spoiler") not in attrs):
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            return
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.error:
            return
        if not self.stack or self.stack[-1] != tag:
            expected = f'"</{self.stack[-1]}>"' if self.stack else "nothing"
            offset = self._byte_offset()
            self.error = f'Unmatched end tag at byte offset {offset}, expected {expected}, found "</{tag}>"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    @functools.lru_cache(maxsize=1024)
    def strip(cls, source: str) -> str:
        """The text without markup (kept per source: bots send the same answers again and again; a
        refusal raises, and is not kept)."""
        parser = cls(source)
        parser.feed(source)
        parser.close()
        if not parser.error and parser.stack:
            parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
        if parser.error:
            raise _ApiError(400, f"Bad Request: can't parse entities: {parser.error}")
        return "".join(parser.parts)


def _copy(obj: Any) -> Any:
    """Deep copy of a JSON value, so tests cannot mutate the server's state (and vice versa)."""
    return json.loads(json.dumps(obj))


def _utf16_len(text: str) -> int:
    """Telegram measures text (entity offsets, length limits) in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _decode_value(key: str, value: str) -> Any:
    """Undo PTB's encoding of one form field: JSON for objects, ints/bools/floats for scalars, else keep the str."""
    if key in _JSON_KEYS or (key not in _STRING_KEYS and value[:1] in "[{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _STRING_KEYS:
        return value
    if value in ("true", "false"):
        return value == "true"
    if _INT_RE.fullmatch(value):
        return int(value)
    if _FLOAT_RE.fullmatch(value):
        return float(value)
    return value


def _unquote_form_param(value: str) -> str:
    """Reverse httpx's HTML5 escaping of multipart names/filenames (``"`` -> %22, control chars -> %XX)."""
    return re.sub(r"%([0-9A-F]{2})|\\\\", lambda m: chr(int(m.group(1), 16)) if m.group(1) else "\\", value)


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    """Byte-exact multipart/form-data parser (the email package may rewrite line endings inside binary parts)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _ApiError(400, "Bad Request: multipart boundary is missing")
    delimiter = b"\r\n--" + match.group(1).encode("latin-1")
    params: JSONDict = {}
    for segment in (b"\r\n" + body).split(delimiter)[1:]:
        if segment.startswith(b"--"):
            break
        _, _, segment = segment.partition(b"\r\n")
        raw_headers, _, content = segment.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        fields = {k.lower(): _unquote_form_param(v) for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', disposition)}
        if "name" not in fields:
            continue
        if "filename" in fields:
            params[fields["name"]] = UploadedFile(
                fields["filename"], headers.get("content-type", "application/octet-stream"), content
            )
        else:
            params[fields["name"]] = _decode_value(fields["name"], content.decode("utf-8"))
    return params


def _decode_params(content_type: str, body: bytes, query: str) -> JSONDict:
    """Turn any of the three body encodings (plus a query string) into one typed dict."""
    params: JSONDict = {k: _decode_value(k, v) for k, v in parse_qsl(query, keep_blank_values=True)}
    mime = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if mime == "application/json":
        loaded = json.loads(body.decode("utf-8"))
        if not isinstance(loaded, dict):
            raise _ApiError(400, "Bad Request: JSON body must be an object")
        for key, value in loaded.items():
            params[key] = _decode_value(key, value) if key in _JSON_KEYS and isinstance(value, str) else value
    elif mime == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    else:  # application/x-www-form-urlencoded, or a missing header
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params.update({k: _decode_value(k, v) for k, v in pairs})
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a bot opens a burst of connections at once under load
    fake: FakeTelegram

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def close_connections(self) -> None:
        """Hangs up kept-alive connections too, so a stopped server really stops answering."""
        with self.sockets_lock:
            for sock in self.open_sockets:
                with contextlib.suppress(OSError):  # already closed by the client
                    sock.shutdown(socket.SHUT_RDWR)
            self.open_sockets.clear()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """PTB cancels long polls on shutdown; writing to the closed socket afterwards is expected, not an error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeTelegram/1.0"
    # Keep-alive, as api.telegram.org does: a client reuses its connections, so the bot is measured
    # without a TCP connect and a server thread per call, which Telegram would not cost it either.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body for the ACK

    def setup(self) -> None:
        super().setup()
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.sockets_lock:
            self.server.open_sockets.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log; ``FakeTelegram.calls`` is the log."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        body = self._read_body()
        status, content_type, payload = self.server.fake._dispatch_http(
            self.path, self.headers.get("Content-Type", ""), body
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if not self.path.startswith("/file/"):
            # Head and body in one write, as a real server sends a small response: two writes made two
            # TCP segments (Nagle is off), so the client read every answer in two pieces.
            self._headers_buffer.extend((b"\r\n", payload))
            self.flush_headers()
            return
        self.end_headers()
        # Downloads go out in pieces and count what the client took: a bot that stops reading at its
        # size limit hangs up, and the count shows it did not receive the whole file.
        sent = 0
        try:
            for start in range(0, len(payload), 65536):
                self.wfile.write(payload[start : start + 65536])
                sent += len(payload[start : start + 65536])
            self.wfile.flush()
        except ConnectionError:
            self.close_connection = True
        finally:
            self.server.fake._download_ended(sent, len(payload))


class FakeTelegram:
    """A fake ``api.telegram.org``: queue updates for the bot, inspect what it called, inject failures.

    Typical async use::

        with FakeTelegram() as tg:
            app = ApplicationBuilder().token(tg.token).base_url(f"{tg.base_url}/bot")...build()
            mark = tg.mark()
            tg.push_message(42, "你好")
            call = await tg.await_for("sendMessage", lambda c: c.params["chat_id"] == 42, after=mark)
    """

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_username: str = "quality_test_bot") -> None:
        self.token = token
        self.bot_username = bot_username
        self._usernames: dict[int, str] = {}
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.base_url = ""
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._updates: list[JSONDict] = []
        self._next_update_id = 1000
        self._allowed_updates: frozenset[str] | None = None
        self._message_ids: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], JSONDict] = {}
        self._sent: list[JSONDict] = []
        self._chats: dict[int | str, JSONDict] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, _StoredFile] = {}
        self._open_callbacks: set[str] = set()
        self._open_inline: set[str] = set()
        self._commands: dict[str, list[JSONDict]] = {}
        self._failures: list[_Failure] = []
        self._blocked: set[int | str] = set()
        self._downloads: list[tuple[int, int]] = []
        self.max_download = _MAX_DOWNLOAD  # raise it to play a local Bot API server, which has no 20 MB limit
        self._ids = itertools.count(1)
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._webhook_url = ""
        self._webhook_secret = ""
        self._webhook_thread: threading.Thread | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status or 0 for no connection)
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": lambda params: {"url": self._webhook_url, "pending_update_count": len(self._updates),
                                              "has_custom_certificate": False},
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getfile": self._get_file,
            "sendchataction": lambda params: True,
            "sendmediagroup": self._send_media_group,
            "copymessage": self._copy_message,
            "forwardmessage": lambda params: self._new_bot_message(params),
            "close": lambda params: True,
            "logout": lambda params: True,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Bind 127.0.0.1 on an ephemeral port and serve in a daemon thread."""
        if self._server is not None:
            return
        self._stopping = False
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-telegram", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Release pending long polls first, so shutdown never waits for a getUpdates timeout."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._webhook_thread is not None:
            self._webhook_thread.join(timeout=5)
        self._server = None
        self._thread = None
        self._webhook_thread = None

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ users, chats and updates

    def _user(self, user_id: int, first_name: str = "用户", language_code: str | None = "zh-hans") -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        if user_id in self._usernames:
            user["username"] = self._usernames[user_id]
        return user

    def set_username(self, user_id: int, username: str) -> None:
        """Gives a user a public @username, carried in every update they send from now on."""
        with self._cond:
            self._usernames[user_id] = username

    def _bot_user(self) -> JSONDict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Quality Test Bot", "username": self.bot_username}

    def _register_chat(self, chat_id: int, chat_type: str, first_name: str) -> JSONDict:
        if chat_type == "private":
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}
        with self._cond:
            self._chats.setdefault(chat_id, chat)
            return dict(self._chats[chat_id])

    def _chat(self, chat_id: Any) -> JSONDict:
        """The chat object for a chat the bot addresses; unknown numeric ids are invented, like a lenient server."""
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        if chat_id > 0:
            return self._register_chat(chat_id, "private", "用户")
        return self._register_chat(chat_id, "supergroup" if str(chat_id).startswith("-100") else "group", "")

    def _next_message_id(self, chat_id: int | str) -> int:
        """Message ids are per chat and shared by both sides of the conversation, as in Telegram."""
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _queue(self, update: JSONDict) -> int:
        with self._cond:
            if "update_id" in update:
                self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            else:
                update = {"update_id": self._next_update_id, **update}
                self._next_update_id += 1
            self._updates.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    def _user_message(
        self, user_id: int, chat_id: int | None, chat_type: str, first_name: str, language_code: str | None
    ) -> JSONDict:
        if chat_id is None:
            if chat_type != "private":
                raise ValueError("chat_id is required for group, supergroup and channel chats")
            chat_id = user_id
        chat = self._register_chat(chat_id, chat_type, first_name)
        with self._cond:
            return {
                "message_id": self._next_message_id(chat_id),
                "from": self._user(user_id, first_name, language_code),
                "chat": chat,
                "date": int(time.time()),
            }

    def _store_and_queue_message(self, message: JSONDict) -> int:
        with self._cond:
            self._messages[(message["chat"]["id"], message["message_id"])] = message
            return self._queue({"message": message})

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
        entities: list[JSONDict] | None = None,
        first_name: str = "用户",
        language_code: str | None = "zh-hans",
    ) -> int:
        """Queue a text message from a user; returns its update_id."""
        message = self._user_message(user_id, chat_id, chat_type, first_name, language_code)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if reply_to_message_id is not None:
            key = (message["chat"]["id"], reply_to_message_id)
            with self._cond:
                if key not in self._messages:
                    raise ValueError(f"no message {reply_to_message_id} in chat {key[0]} to reply to")
                replied = dict(self._messages[key])
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        return self._store_and_queue_message(message)

    def push_command(self, user_id: int, text: str, **kw: Any) -> int:
        """Like push_message, plus the bot_command entity Telegram adds (CommandHandler ignores text without it)."""
        if not text.startswith("/"):
            raise ValueError("a command starts with '/'")
        command = text.split(maxsplit=1)[0]
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
        extra: list[JSONDict] = kw.pop("entities", None) or []
        return self.push_message(user_id, text, entities=[entity, *extra], **kw)

    def push_callback(self, user_id: int, message: JSONDict, data: str, *, chat_id: int | None = None,
                      language_code: str | None = "zh-hans") -> int:
        """Queue a button press on a bot message (pass the dict from sent_messages() or a sendMessage result)."""
        chat = chat_id if chat_id is not None else message["chat"]["id"]
        with self._cond:
            current = dict(self._messages.get((chat, message["message_id"]), message))
            query_id = str(4_000_000_000_000_000 + next(self._ids))
            self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id, language_code=language_code),
            "message": current,
            "chat_instance": str(abs(hash(chat)) % 10**18),
            "data": data,
        }
        return self._queue({"callback_query": query})

    def push_inline_query(self, user_id: int, query: str) -> int:
        """Queue an inline query (``@bot query`` typed in any chat)."""
        with self._cond:
            query_id = str(5_000_000_000_000_000 + next(self._ids))
            self._open_inline.add(query_id)
        inline_query = {"id": query_id, "from": self._user(user_id), "query": query, "offset": ""}
        return self._queue({"inline_query": inline_query})

    def _store_file(self, content: bytes, file_name: str | None, mime_type: str | None, kind: str) -> _StoredFile:
        with self._cond:
            n = next(self._ids)
            suffix = ("." + file_name.rsplit(".", 1)[1]) if file_name and "." in file_name else ""
            folder = "photos" if kind == "photo" else f"{kind}s"
            stored = _StoredFile(
                file_id=f"BQACAgUAAx{n:08d}{kind.upper()}",
                file_unique_id=f"AgAD{n:06d}",
                file_path=f"{folder}/file_{n}{suffix}",
                content=content,
                file_name=file_name,
                mime_type=mime_type,
            )
            self._files[stored.file_id] = stored
            self._file_paths[stored.file_path] = stored
            return stored

    def push_document(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        mime_type: str = "text/plain",
        chat_id: int | None = None,
        caption: str | None = None,
        declare_size: bool = True,
    ) -> int:
        """Queue a document message; its bytes are served through getFile and the file download URL.
        ``declare_size=False`` omits file_size from the Document and from getFile, as Telegram may."""
        stored = self._store_file(content, file_name, mime_type, "document")
        stored.declared = declare_size
        chat_type = "private" if chat_id is None else self._guess_type(chat_id)
        message = self._user_message(user_id, chat_id, chat_type, "用户", "zh-hans")
        message["document"] = stored.as_object("document")
        if caption is not None:
            message["caption"] = caption
        return self._store_and_queue_message(message)

    def push_photo(self, user_id: int, content: bytes = b"\x89PNG", *, caption: str | None = None,
                   language_code: str | None = "zh-hans") -> int:
        """Queue a photo message from a user in a private chat, with an optional caption."""
        stored = self._store_file(content, None, "image/png", "photo")
        message = self._user_message(user_id, None, "private", "用户", language_code)
        message["photo"] = [stored.as_object("photo")]
        if caption is not None:
            message["caption"] = caption
        return self._store_and_queue_message(message)

    def _guess_type(self, chat_id: int) -> str:
        with self._cond:
            if chat_id in self._chats:
                return str(self._chats[chat_id]["type"])
        if chat_id > 0:
            return "private"
        return "supergroup" if str(chat_id).startswith("-100") else "group"

    def push_raw_update(self, update: JSONDict) -> int:
        """Queue any update dict (edited_message, channel_post, my_chat_member...); update_id is filled in.

        As in Telegram, chat_member / message_reaction(_count) updates are dropped unless getUpdates asked for them
        via ``allowed_updates`` (the setting persists across getUpdates calls that omit it).
        """
        return self._queue(dict(update))

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every request so far, in the order they were answered."""
        with self._cond:
            return list(self._calls)

    def mark(self) -> int:
        """Current number of calls; pass as ``after=`` so only later calls satisfy wait_for."""
        with self._cond:
            return len(self._calls)

    def sent_messages(self, chat_id: int | None = None) -> list[JSONDict]:
        """Message dicts returned for successful sendMessage calls, oldest first (as sent, not as later edited)."""
        with self._cond:
            return [_copy(m) for m in self._sent if chat_id is None or m["chat"]["id"] == chat_id]

    def get_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The current state of a message (after edits), or None if unknown/deleted."""
        with self._cond:
            message = self._messages.get((chat_id, message_id))
            return _copy(message) if message else None

    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset (delivered-but-unconfirmed ones included)."""
        with self._cond:
            return [_copy(u) for u in self._updates]

    def _find(self, method: str, predicate: Predicate, start: int) -> Call | None:
        wanted = method.lower()
        for call in self._calls[start:]:
            if call.method.lower() != wanted:
                continue
            try:
                if predicate(call):
                    return call
            except (KeyError, IndexError, TypeError):
                continue
        return None

    def _wait(
        self, method: str, predicate: Predicate, timeout: float, start: int, cancelled: threading.Event | None = None
    ) -> Call:
        deadline = time.monotonic() + timeout
        unseen = start  # calls before it were looked at and did not match: each wake-up reads only new ones
        with self._cond:
            while True:
                found = self._find(method, predicate, unseen)
                if found is not None:
                    return found
                unseen = max(unseen, len(self._calls))
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (cancelled is not None and cancelled.is_set()):
                    raise AssertionError(self._timeout_report(method, timeout, start))
                self._cond.wait(remaining)

    def wait_for(
        self, method: str, predicate: Predicate = lambda c: True, timeout: float = 10.0, after: int | None = None
    ) -> Call:
        """Block until a ``method`` call matching ``predicate`` is recorded.

        Without ``after`` only calls recorded from now on count, so take ``mark()`` *before* pushing an update when
        the bot may answer quickly. A predicate raising KeyError/IndexError/TypeError counts as "no match".
        Calls are recorded when answered, so a getUpdates long poll shows up only once it returns.
        Never call this from the event loop that runs the bot: use ``await_for`` there.
        """
        start = self.mark() if after is None else after
        return self._wait(method, predicate, timeout, start)

    async def await_for(
        self, method: str, predicate: Predicate = lambda c: True, timeout: float = 10.0, after: int | None = None
    ) -> Call:
        """``wait_for`` for async tests: waits in a worker thread so the bot keeps running on the loop."""
        start = self.mark() if after is None else after
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self._wait, method, predicate, timeout, start, cancelled)
        except asyncio.CancelledError:
            cancelled.set()  # wake the worker thread, so loop shutdown is not held up by it
            with self._cond:
                self._cond.notify_all()
            raise

    def _timeout_report(self, method: str, timeout: float, start: int) -> str:
        calls = self._calls[start:]
        polls = sum(1 for c in calls if c.method.lower() == "getupdates")
        lines = [f"no {method} call matched within {timeout:.1f}s; calls since #{start} (getUpdates polls: {polls}):"]
        for call in calls:
            if call.method.lower() == "getupdates":
                continue
            outcome = "ok" if call.ok else f"-> {call.status} {call.error and call.error.get('description')}"
            params = {k: (f"<file {v.filename}>" if isinstance(v, UploadedFile) else v) for k, v in call.params.items()}
            lines.append(f"  #{call.index} {call.method} {json.dumps(params, ensure_ascii=False)[:300]} {outcome}")
        if len(lines) == 1:
            lines.append("  (none)")
        lines.append(f"pending updates: {[u['update_id'] for u in self._updates]}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (optionally only those to ``chat_id``) with an error.

        PTB maps ``parameters.retry_after`` to RetryAfter and ``migrate_to_chat_id`` to ChatMigrated regardless of
        the status code; otherwise 403 -> Forbidden, 400 -> BadRequest, 401/404 -> InvalidToken, 409 -> Conflict.
        """
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        with self._cond:
            self._failures.append(_Failure(method.lower(), error_code, description, parameters, chat_id, times))

    def _download_ended(self, sent: int, size: int) -> None:
        with self._cond:
            self._downloads.append((sent, size))
            self._cond.notify_all()

    def wait_for_download_end(self, count: int = 1, timeout: float = 30) -> list[tuple[int, int]]:
        """(bytes the client received, file size) of each download once ``count`` of them have ended."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._downloads) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"only {len(self._downloads)} of {count} downloads ended in {timeout}s")
                self._cond.wait(remaining)
            return list(self._downloads)

    def block_chat(self, chat_id: int) -> None:
        """From now on every send* to this chat fails with 403, like a user who blocked the bot."""
        with self._cond:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self._cond:
            self._blocked.discard(chat_id)

    # ------------------------------------------------------------------ HTTP plumbing

    def _record(
        self, method: str, params: JSONDict, result: Any, error: JSONDict | None, status: int, ctype: str
    ) -> None:
        with self._cond:
            call = Call(method, params, time.time(), result, error, status, ctype, len(self._calls))
            self._calls.append(call)
            self._cond.notify_all()

    def _dispatch_http(self, raw_path: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Route one HTTP request; returns (status, content type, body). Runs in a server thread."""
        split = urlsplit(raw_path)
        path = unquote(split.path)
        if match := re.fullmatch(r"/file/bot([^/]+)/(.+)", path):
            return self._download(match.group(1), match.group(2))
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)/?", path)
        if not match:
            return self._json(_ApiError(404, "Not Found").payload(), 404)
        token, method = match.groups()
        try:
            params = _decode_params(content_type, body, split.query)
        except (_ApiError, ValueError, UnicodeDecodeError) as exc:
            error = exc if isinstance(exc, _ApiError) else _ApiError(400, f"Bad Request: can't parse body: {exc}")
            self._record(method, {}, None, error.payload(), error.code, content_type)
            return self._json(error.payload(), error.code)
        try:
            if token != self.token:
                raise _ApiError(401, "Unauthorized")
            result = self._call_method(method, params)
        except _ApiError as error:
            self._record(method, params, None, error.payload(), error.code, content_type)
            return self._json(error.payload(), error.code)
        except Exception as exc:  # a bug in the fake, or params it cannot handle: surface it loudly
            error = _ApiError(500, f"Internal Server Error: fake {method} crashed: {exc!r}")
            self._record(method, params, None, error.payload(), 500, content_type)
            return self._json(error.payload(), 500)
        self._record(method, params, result, None, 200, content_type)
        return self._json({"ok": True, "result": result}, 200)

    @staticmethod
    def _json(payload: JSONDict, status: int) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def _download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        with self._cond:
            stored = self._file_paths.get(file_path) if token == self.token else None
        if stored is None:
            status = 401 if token != self.token else 404
            error = _ApiError(status, "Unauthorized" if status == 401 else "Not Found")
            self._record("downloadFile", {"file_path": file_path}, None, error.payload(), status, "")
            return self._json(error.payload(), status)
        self._record("downloadFile", {"file_path": file_path}, len(stored.content), None, 200, "")
        return 200, stored.mime_type or "application/octet-stream", stored.content

    def _call_method(self, method: str, params: JSONDict) -> Any:
        name = method.lower()
        with self._cond:
            for failure in self._failures:
                if failure.method == name and (failure.chat_id is None or params.get("chat_id") == failure.chat_id):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    raise _ApiError(failure.error_code, failure.description, failure.parameters or None)
            is_send = name.startswith("send") or name in {"copymessage", "forwardmessage"}
            chat_id = params.get("chat_id")
            if is_send and chat_id in self._blocked:
                raise _ApiError(403, _BLOCKED_USER if isinstance(chat_id, int) and chat_id > 0 else _KICKED_GROUP)
            handler = self._handlers.get(name)
            if handler is None and name.startswith("send"):
                return self._send_other(method, params)
            return handler(params) if handler else True

    # ------------------------------------------------------------------ Bot API methods

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = ""
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        """From now on updates are POSTed to ``url`` (with the secret-token header), not returned by getUpdates."""
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        self._webhook_url = url
        self._webhook_secret = str(params.get("secret_token") or "")
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        if self._webhook_thread is None:
            self._webhook_thread = threading.Thread(target=self._deliver_webhooks, name="fake-telegram-webhook",
                                                    daemon=True)
            self._webhook_thread.start()
        self._cond.notify_all()
        return True

    def _deliver_webhooks(self) -> None:
        """Like Telegram: one update at a time, in order; an update is retried until the webhook answers 2xx."""
        import urllib.error
        import urllib.request

        while True:
            with self._cond:
                while not self._stopping and not (self._webhook_url and self._updates):
                    self._cond.wait(0.5)
                if self._stopping:
                    return
                self._updates = [u for u in self._updates if self._is_allowed(u)]
                if not self._updates:
                    continue
                update, url, secret = _copy(self._updates[0]), self._webhook_url, self._webhook_secret
            request = urllib.request.Request(url, data=json.dumps(update, ensure_ascii=False).encode("utf-8"),
                                             headers={"Content-Type": "application/json",
                                                      "X-Telegram-Bot-Api-Secret-Token": secret})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except (OSError, ValueError):
                status = 0
            with self._cond:
                self.webhook_deliveries.append((int(update["update_id"]), status))
                if 200 <= status < 300:
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                else:
                    self._cond.wait(0.2)  # Telegram retries a failed delivery later

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """Long polling: confirm by offset, then wait (releasing the lock) until a deliverable update or timeout."""
        if self._webhook_url:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                                 "to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = time.monotonic() + timeout
        while True:
            # Telegram never stores updates of types the bot did not ask for, so they are dropped, not deferred.
            self._updates = [u for u in self._updates if self._is_allowed(u)]
            batch = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._stopping:
                return _copy(batch)
            self._cond.wait(remaining)

    def _is_allowed(self, update: JSONDict) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _reply_markup(self, params: JSONDict) -> JSONDict | None:
        """Validate an inline keyboard; only inline keyboards are echoed in Message.reply_markup (as in Telegram)."""
        markup = params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                if not button.get("text"):
                    raise _ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _render(self, params: JSONDict, key: str) -> str | None:
        text = params.get(key)
        if text is None:
            return None
        text = str(text)
        if str(params.get("parse_mode") or "").lower() == "html":
            text = _TelegramHTML.strip(text)  # entities such as &lt; are already decoded by the parser
        return text

    def _new_bot_message(self, params: JSONDict) -> JSONDict:
        chat = self._chat(params.get("chat_id"))
        message: JSONDict = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self._bot_user(),
            "chat": chat,
            "date": int(time.time()),
        }
        reply = params.get("reply_parameters") or (
            {"message_id": params["reply_to_message_id"]} if params.get("reply_to_message_id") else None
        )
        if isinstance(reply, dict) and reply.get("message_id"):
            replied = self._messages.get((reply.get("chat_id", chat["id"]), reply["message_id"]))
            if replied is None and not reply.get("allow_sending_without_reply"):
                raise _ApiError(400, "Bad Request: message to be replied not found")
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        if markup := self._reply_markup(params):
            message["reply_markup"] = markup
        return message

    def _send_message(self, params: JSONDict) -> JSONDict:
        text = self._render(params, "text")
        if text is None or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        message = self._new_bot_message(params)
        message["text"] = text
        if params.get("entities"):
            message["entities"] = params["entities"]
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        self._sent.append(message)
        return _copy(message)

    def _editable(self, params: JSONDict) -> JSONDict | None:
        """The stored message an edit refers to, or None for inline messages (which answer ``true``)."""
        if params.get("inline_message_id"):
            return None
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if chat_id is None or message_id is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(self, message: JSONDict, text: str | None, params: JSONDict) -> JSONDict:
        markup = self._reply_markup(params)
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message",
            )
        updated = dict(message, text=text, edit_date=int(time.time()))
        if text is None:
            updated.pop("text")
        updated.pop("reply_markup", None)
        if markup:  # editMessageText without reply_markup removes the inline keyboard, as in Telegram
            updated["reply_markup"] = markup
        if params.get("entities") is not None:
            updated["entities"] = params["entities"]
        self._messages[(message["chat"]["id"], message["message_id"])] = updated
        return _copy(updated)

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text = self._render(params, "text")
        if text is None or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        message = self._editable(params)
        return True if message is None else self._apply_edit(message, text, params)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        message = self._editable(params)
        return True if message is None else self._apply_edit(message, message.get("text"), params)

    def _delete_message(self, params: JSONDict) -> bool:
        key: Any = (params.get("chat_id"), params.get("message_id"))
        if self._messages.pop(key, None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise _ApiError(400, _BAD_QUERY)
        self._open_callbacks.discard(query_id)
        if len(str(params.get("text") or "")) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _answer_inline_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._open_inline:
            raise _ApiError(400, _BAD_QUERY)
        results = params.get("results")
        if not isinstance(results, list):
            raise _ApiError(400, "Bad Request: can't parse inline query results JSON object")
        if len(results) > 50:
            raise _ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results]
        if len(set(ids)) != len(ids):
            raise _ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        for result in results:  # each result is a message to be: the same limits as sendMessage
            content = result.get("input_message_content") or {}
            if "message_text" in content and _utf16_len(
                    self._render(content, "message_text") or "") > 4096:
                raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            self._reply_markup(result)
        self._open_inline.discard(query_id)
        return True

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return [dict(c) for c in self._commands.get(self._commands_key(params), [])]

    def _delete_my_commands(self, params: JSONDict) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > self.max_download:
            raise _ApiError(400, "Bad Request: file is too big")
        result = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_path": stored.file_path}
        if stored.declared:
            result["file_size"] = len(stored.content)
        return result

    def _media(self, kind: str, value: Any, params: JSONDict) -> _StoredFile:
        """Resolve an uploaded file, an ``attach://`` reference, a known file_id or a URL to a stored file."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"), value)
        if isinstance(value, UploadedFile):
            return self._store_file(value.content, value.filename, value.content_type, kind)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return self._store_file(b"", str(value).rsplit("/", 1)[-1] or None, None, kind)

    def _send_other(self, method: str, params: JSONDict) -> JSONDict:
        """sendDocument, sendPhoto, sendLocation, ...: a Message with the media object when we know its shape."""
        kind = re.sub(r"(?<!^)(?=[A-Z])", "_", method[4:]).lower()
        message = self._new_bot_message(params)
        if kind in _MEDIA_EXTRAS and params.get(kind) is not None:
            stored = self._media(kind, params[kind], params)
            message[kind] = [stored.as_object(kind)] if kind == "photo" else stored.as_object(kind)
        caption = self._render(params, "caption")
        if caption is not None:
            if _utf16_len(caption) > 1024:
                raise _ApiError(400, "Bad Request: message caption is too long")
            message["caption"] = caption
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return _copy(message)

    def _send_media_group(self, params: JSONDict) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: wrong number of media in the album")
        return [self._send_other("send" + str(item.get("type", "document")).capitalize(),
                                 {**params, str(item.get("type")): item.get("media"), "caption": item.get("caption")})
                for item in media]  # fmt: skip

    def _copy_message(self, params: JSONDict) -> JSONDict:
        key: Any = (params.get("from_chat_id"), params.get("message_id"))
        if key not in self._messages:
            raise _ApiError(400, "Bad Request: message to copy not found")
        chat = self._chat(params.get("chat_id"))
        return {"message_id": self._next_message_id(chat["id"])}
