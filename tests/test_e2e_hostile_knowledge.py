"""Hostile or unlucky knowledge files, end to end: the real bot process against the local Bot API server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.botproc import BotProcess, buttons
from tests.conftest import DATA, KNOWLEDGE
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


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    work = tmp_path_factory.mktemp("hostile")
    shutil.copytree(KNOWLEDGE, work / "knowledge")
    with FakeTelegram(token="737373:HOSTILE-KB-TOKEN") as server:
        process = BotProcess(server, work, admins=(ADMIN, ADMIN + 1), QBOT_KNOWLEDGE_DIR=str(work / "knowledge"),
                             QBOT_WATCH_SECONDS="3600")
        try:
            yield process.start()
        finally:
            process.stop()


def entry(entry_id: str, question: str, answer: str) -> bytes:
    return (f"entries:\n  - id: {entry_id}\n    type: faq\n    title: {question}\n    question: {question}\n"
            f"    answer: {answer}\n    source:\n      title: 测试来源\n      origin: 测试网站\n").encode()


def confirm(bot: BotProcess, user: int, summary: Call) -> str:
    """Presses 确认更新 under an upload summary; returns the text the summary is edited to."""
    button = next(data for data in buttons(summary) if data.startswith("up:go:"))
    mark = bot.server.mark()
    bot.server.push_callback(user, summary.result, button)
    return bot.server.wait_for("editMessageText", lambda c: c.params["message_id"] == summary.result["message_id"]
                               and c.params["chat_id"] == user, timeout=60, after=mark).params["text"]


def test_two_admins_uploading_the_same_file_do_not_lose_an_update(bot):
    first = upload(bot, ADMIN, "shared.yaml", entry("shared-a", "青蛙质量节在哪天", "青蛙质量节在每年3月3日。"))
    second = upload(bot, ADMIN + 1, "shared.yaml", entry("shared-b", "蜻蜓质量周在哪天", "蜻蜓质量周在每年4月4日。"))
    assert "已更新知识库" in confirm(bot, ADMIN, first)
    refused = confirm(bot, ADMIN + 1, second)
    assert "文件已被他人修改，请重新上传" in refused, refused
    assert b"shared-a" in (bot.work / "knowledge" / "shared.yaml").read_bytes()
    assert "3月3日" in bot.ask(CITIZEN + 1, "青蛙质量节在哪天").params["text"]


@pytest.mark.parametrize("name", ["UPPER.YAML", "Mixed.Yml"])
def test_an_upper_case_suffix_is_applied_and_used(bot, name):
    question = f"{name}里的蝴蝶质量日在哪天"
    summary = upload(bot, ADMIN, name, entry(name.split(".")[0].lower() + "-x", question, f"{name}：每年5月5日。"))
    assert "新增条目" in summary.params["text"], summary.params["text"]
    assert "已更新知识库" in confirm(bot, ADMIN, summary)
    assert f"{name}：每年5月5日" in bot.ask(CITIZEN + 2, question).params["text"]


def test_an_upper_case_page_suffix_is_applied_and_used(bot):
    page = (DATA / "holdout" / "pages" / "page_a.txt").read_bytes()
    summary = upload(bot, ADMIN, "LIUZHOU.TXT", page)
    assert "段" in summary.params["text"], summary.params["text"]
    assert "已更新知识库" in confirm(bot, ADMIN, summary)
    assert "柳东新区" in bot.ask(CITIZEN + 3, "柳州2021年质量月启动仪式在哪里举行").params["text"]
    assert (bot.work / "knowledge" / "articles" / "LIUZHOU.TXT").exists()


def test_a_reminder_more_than_two_years_ahead_is_refused(bot):
    reply = bot.command(ADMIN, "/schedule 9999-12-31 09:00 遥远的提醒")
    assert "两年之内" in reply.params["text"], reply.params["text"]
    assert "遥远的提醒" not in bot.command(ADMIN, "/reminders").params["text"]


@pytest.mark.parametrize(("encoding", "shown"), [("utf-16", "UTF-16"), ("gbk", "GB18030")])
def test_utf16_and_gbk_uploads_are_read_and_saved_as_utf8(bot, encoding, shown):
    name = f"enc-{encoding}.yaml"
    question = f"{encoding}编码的海豚质量月在哪天"
    text = entry(f"enc-{encoding}", question, "海豚质量月在每年6月6日。").decode()
    summary = upload(bot, ADMIN, name, text.encode(encoding))
    assert f"文件编码为 {shown}，已转换为 UTF-8 保存" in summary.params["text"], summary.params["text"]
    assert "新增条目" in summary.params["text"]
    assert "已更新知识库" in confirm(bot, ADMIN, summary)
    assert (bot.work / "knowledge" / name).read_bytes() == text.encode("utf-8")
    assert "6月6日" in bot.ask(CITIZEN + 4, question).params["text"]


def test_a_gbk_page_is_read_as_chinese(bot):
    page = (DATA / "holdout2" / "pages" / "page_c.txt").read_text(encoding="utf-8")
    summary = upload(bot, ADMIN, "page-gbk.txt", page.encode("gbk"))
    assert "GB18030" in summary.params["text"] and "段" in summary.params["text"], summary.params["text"]
    assert "已更新知识库" in confirm(bot, ADMIN, summary)
    assert (bot.work / "knowledge" / "articles" / "page-gbk.txt").read_text(encoding="utf-8") == page


def test_a_50_mb_document_without_a_declared_size_is_refused_without_reading_it_all(bot):
    big = b"x" * 50_000_000
    # Telegram itself refuses getFile over 20 MB: a clear refusal, not an apology.
    reply = upload(bot, ADMIN, "huge.txt", big, declare_size=False)
    assert "太大" in reply.params["text"], reply.params["text"]
    # A local Bot API server serves it: the bot streams it and hangs up once past the 1 MB limit.
    bot.server.max_download = 100_000_000
    try:
        ended = len(bot.server.wait_for_download_end(0))
        reply = upload(bot, ADMIN, "huge.txt", big, declare_size=False)
        assert "太大" in reply.params["text"], reply.params["text"]
        sent, size = bot.server.wait_for_download_end(ended + 1)[-1]
        assert size == len(big) and sent < size // 2, (sent, size)
    finally:
        bot.server.max_download = 20 * 1024 * 1024
    assert not (bot.work / "knowledge" / "articles" / "huge.txt").exists()
