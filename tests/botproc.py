"""Runs the real bot as a separate process against the suite's local Bot API server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import KNOWLEDGE, ROOT
from tests.fakes import Call, FakeTelegram


class BotProcess:
    def __init__(self, server: FakeTelegram, work: Path, admins: tuple[int, ...] = (), **settings: str) -> None:
        self.server = server
        self.work = work
        self.log = work / "bot.log"
        self.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "QBOT_"))},
            "TELEGRAM_BOT_TOKEN": server.token,
            "TELEGRAM_API_URL": server.base_url,
            "QBOT_ADMINS": ",".join(map(str, admins)),
            "QBOT_DATA_DIR": str(work / "data"),
            "QBOT_KNOWLEDGE_DIR": str(KNOWLEDGE),
            "QBOT_LOG_LEVEL": "INFO",
            "PYTHONPATH": str(ROOT),
            **settings,
        }
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 90) -> BotProcess:
        """Starts the process and waits until it has published its commands (start-up done)."""
        mark = self.server.mark()
        with self.log.open("a", encoding="utf-8") as output:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], cwd=self.work, env=self.env,
                                            stdout=output, stderr=subprocess.STDOUT, text=True)
        self.server.wait_for("setMyCommands", timeout=timeout, after=mark)
        return self

    def launch(self) -> BotProcess:
        """Starts the process without waiting for start-up (for runs that are expected to fail)."""
        with self.log.open("a", encoding="utf-8") as output:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], cwd=self.work, env=self.env,
                                            stdout=output, stderr=subprocess.STDOUT, text=True)
        return self

    def wait(self, timeout: float = 90) -> int:
        """Waits for the process to exit by itself; returns its exit code."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def stop(self, kill: bool = False) -> int:
        """SIGTERM (a clean stop) or SIGKILL (a crash); returns the exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def ask(self, user_id: int, text: str, **kwargs: Any) -> Call:
        """Sends a message as a user and returns the bot's first reply to that chat."""
        mark = self.server.mark()
        self.server.push_message(user_id, text, **kwargs)
        chat = kwargs.get("chat_id", user_id)
        return self.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == chat, timeout=20, after=mark)

    def command(self, user_id: int, text: str) -> Call:
        mark = self.server.mark()
        self.server.push_command(user_id, text)
        return self.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user_id, timeout=20, after=mark)

    def press(self, user_id: int, message: dict[str, Any], data: str, reply: str = "answerCallbackQuery") -> Call:
        mark = self.server.mark()
        self.server.push_callback(user_id, message, data)
        return self.server.wait_for(reply, timeout=20, after=mark)


def buttons(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]
