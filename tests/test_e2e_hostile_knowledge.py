"""Hostile or unlucky knowledge files, end to end: the real bot process against the local Bot API server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.botproc import BotProcess
from tests.conftest import KNOWLEDGE
from tests.fakes import Call, FakeTelegram

ADMIN = 830001
CITIZEN = 840001
DEEP = b"entries: " + b"[" * 5000 + b"\n"


def upload(bot: BotProcess, user: int, name: str, content: bytes, **kwargs: object) -> Call:
    mark = bot.server.mark()
    bot.server.push_document(user, name, content, **kwargs)  # type: ignore[arg-type]
    return bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=60, after=mark)


@pytest.fixture
def deep_bot(tmp_path) -> Iterator[BotProcess]:
    """A bot that starts with a 5000-deep YAML file in its knowledge folder and watches the disk."""
    shutil.copytree(KNOWLEDGE, tmp_path / "knowledge")
    (tmp_path / "knowledge" / "deep.yaml").write_bytes(DEEP)
    with FakeTelegram(token="727272:HOSTILE-KB-TOKEN") as server:
        process = BotProcess(server, tmp_path, admins=(ADMIN,), QBOT_KNOWLEDGE_DIR=str(tmp_path / "knowledge"),
                             QBOT_WATCH_SECONDS="0.5")
        try:
            yield process.start()
        finally:
            process.stop()


def test_deep_nesting_is_a_file_line_problem_at_start_upload_and_on_disk(deep_bot):
    bot = deep_bot
    assert "9月" in bot.ask(CITIZEN, "质量月是每年几月").params["text"]  # started, answering
    reply = upload(bot, ADMIN, "deep2.yaml", DEEP)
    assert "deep2.yaml:1:" in reply.params["text"] and "12" in reply.params["text"], reply.params["text"]
    mark = bot.server.mark()
    (bot.work / "knowledge" / "deep3.yaml").write_bytes(b"entries:\n  - " + b"{a: " * 5000 + b"\n")
    notice = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN, timeout=30, after=mark)
    assert "deep3.yaml:2:" in notice.params["text"] and "deep.yaml:1:" in notice.params["text"]
    assert "9月" in bot.ask(CITIZEN, "质量月是每年几月").params["text"]
