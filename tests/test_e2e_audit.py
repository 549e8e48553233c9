"""At the default log level, who changed staff and who sent a broadcast is in the log (end to end)."""

from __future__ import annotations

from tests.botproc import BotProcess, buttons
from tests.fakes import FakeTelegram

ADMIN = 860001


def test_the_default_log_level_shows_audit_lines(tmp_path):
    with FakeTelegram(token="747474:AUDIT-TEST-TOKEN") as server:
        bot = BotProcess(server, tmp_path, admins=(ADMIN,))
        del bot.env["QBOT_LOG_LEVEL"]  # the default, as deployed
        bot.start()
        try:
            assert "已将 4242 设为工作人员" in bot.command(ADMIN, "/staff add 4242").params["text"]
            for citizen in (870001, 870002):
                bot.command(citizen, "/subscribe")
            preview = bot.command(ADMIN, "/broadcast 质量月通知")
            mark = server.mark()
            bot.server.push_callback(ADMIN, preview.result, next(d for d in buttons(preview) if d.startswith("bc:go:")))
            server.wait_for("editMessageText", lambda c: "完成" in c.params.get("text", ""), timeout=60, after=mark)
        finally:
            bot.stop()
    log = bot.log.read_text(encoding="utf-8")
    assert f"staff.add user=4242 by={ADMIN}" in log, log
    assert f"broadcast.confirmed id=b1 by={ADMIN}" in log, log
    assert "broadcast.finished id=b1 sent=2 blocked=0 failed=0 total=2" in log, log
    assert "质量月通知" not in log  # texts are not logged
