"""Start-up as an operator sees it (end to end: the real bot process against the suite's Bot API server):
an unreachable API is retried with one line per attempt, a proxy is honoured, and the bot says it started.
Then the small things a citizen notices: an unknown command gets a hint, a photo's caption is a question."""

from __future__ import annotations

from tests.botproc import BotProcess
from tests.fakes import FakeTelegram


def test_an_unreachable_api_is_retried_with_a_one_line_reason_then_the_bot_starts(tmp_path):
    with FakeTelegram() as server:
        server.fail_next("getMe", 502, "Bad Gateway", times=2)  # what a proxy says while Telegram is unreachable
        process = BotProcess(server, tmp_path, QBOT_LOG_LEVEL="WARNING").start()
        try:
            reply = process.command(800001, "/foo")
            assert reply.params["text"] == "没有 /foo 这个命令。发送 /help 查看可用命令，或直接发送您的问题。"
            mark = server.mark()
            server.push_photo(800002, caption="质量月是每年几月？")
            answer = server.wait_for("sendMessage", lambda c: c.params["chat_id"] == 800002, timeout=20, after=mark)
            assert "9月" in answer.params["text"] and "来源" in answer.params["text"]
        finally:
            process.stop()
    log = process.log.read_text(encoding="utf-8")
    retries = [line for line in log.splitlines() if "无法连接 Telegram API" in line]
    assert len(retries) == 2 and "Bad Gateway" in retries[0], log
    assert "1 秒后第 1 次重试" in retries[0] and "2 秒后第 2 次重试" in retries[1]
    assert "Traceback" not in log, log
    assert "已启动 @quality_test_bot (polling)" in log, log
    assert server.token.split(":")[1] not in log


def test_requests_go_through_the_proxy_setting(tmp_path):
    """The API address cannot be resolved; only the proxy (here the suite's server, which also serves
    absolute-form proxy requests) can reach it."""
    with FakeTelegram() as server:
        process = BotProcess(server, tmp_path, TELEGRAM_API_URL="http://api.telegram.invalid",
                             QBOT_PROXY=server.base_url).start()
        try:
            assert "质量政策问答机器人" in process.command(800003, "/start").params["text"]
        finally:
            process.stop()
    assert "已启动 @quality_test_bot (polling)" in process.log.read_text(encoding="utf-8")
