"""An offline request class for handler tests: records every Bot API call, answers plausibly.

Modelled on python-telegram-bot's own offline request in its test suite: the real Application,
Bot and handlers run; only the HTTP round trip is replaced.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 777000
BOT_USERNAME = "quality_test_bot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]


class RecordingRequest(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.message_ids = itertools.count(1000)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def texts(self) -> list[str]:
        return [params["text"] for params in self.sent()]

    def clear(self) -> None:
        self.calls.clear()

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id", 1)
        message: dict[str, Any] = {
            "message_id": params.get("message_id") or next(self.message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": BOT_USERNAME},
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = json.loads(json.dumps(request_data.parameters)) if request_data else {}
        self.calls.append(Call(name, params))
        result: Any = True
        if name == "getMe":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": BOT_USERNAME,
                      "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}
        elif name in ("sendMessage", "editMessageText"):
            result = self._message(params)
        return 200, json.dumps({"ok": True, "result": result}).encode()
