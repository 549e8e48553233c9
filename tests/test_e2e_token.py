"""The token never reaches stderr or the log when Telegram rejects it, at start or at run time, and the
operator gets one line saying why (end to end: the real bot process against the local Bot API server)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.botproc import BotProcess
from tests.fakes import FakeTelegram

TOKEN = "515151:RELIABILITY-secret-token-xyz"
SECRET = TOKEN.split(":")[1]


def wait_for_log(path: Path, needle: str, timeout: float = 20) -> str:
    """The log once it contains `needle` (the bot writes it asynchronously; there is no other event)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_a_rejected_token_stops_start_up_with_one_line_and_no_token(tmp_path):
    with FakeTelegram(token="626262:the-right-token-abc") as server:
        process = BotProcess(server, tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, QBOT_LOG_LEVEL="WARNING").launch()
        code = process.wait(timeout=90)
    output = process.log.read_text(encoding="utf-8")
    assert code != 0
    assert SECRET not in output, output
    assert "Traceback" not in output, output
    assert "拒绝了机器人令牌" in output and "rejected the bot token" in output, output


def test_409_and_401_at_run_time_are_one_line_and_never_show_the_token(tmp_path):
    with FakeTelegram(token=TOKEN) as server:
        process = BotProcess(server, tmp_path).start()
        try:
            mark = server.mark()
            server.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request; "
                             f"make sure that only one bot instance is running ({TOKEN})")
            server.wait_for("getUpdates", lambda c: not c.ok, timeout=30, after=mark)
            server.wait_for("getUpdates", lambda c: c.ok, timeout=30, after=mark)  # polling goes on
            log = wait_for_log(process.log, "接收更新冲突（409）")
            assert "接收更新冲突（409）" in log and "another process is running with this token" in log, log

            user = 700001
            server.fail_next("sendMessage", 401, "Unauthorized", chat_id=user)
            reply = process.ask(user, "质量月是每年几月")  # the apology, after the rejected answer
            assert reply.params["chat_id"] == user
            log = wait_for_log(process.log, "令牌可能已被吊销")
            assert "令牌可能已被吊销" in log and "401 Unauthorized" in log, log
            assert "6000" in process.ask(700002, "郴州质量开放日发放了多少宣传单").params["text"]  # still serving

        finally:
            process.stop()
    output = process.log.read_text(encoding="utf-8")
    assert SECRET not in output, output
    assert "Traceback" not in output, output
