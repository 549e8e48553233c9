"""Admins update the knowledge from chat, end to end against the local Bot API server."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

from tests.botproc import BotProcess, buttons
from tests.conftest import DATA, KNOWLEDGE
from tests.fakes import FakeTelegram

ADMIN = 810001
CITIZEN = 820001
PAGE = (DATA / "holdout" / "pages" / "page_a.txt").read_bytes()
PAGE_QUESTION = "柳州2021年质量月启动仪式在哪里举行"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    work = tmp_path_factory.mktemp("admin")
    shutil.copytree(KNOWLEDGE, work / "knowledge")
    with FakeTelegram(token="717171:ADMIN-TEST-TOKEN") as server:
        process = BotProcess(server, work, admins=(ADMIN,), QBOT_KNOWLEDGE_DIR=str(work / "knowledge"),
                             QBOT_WATCH_SECONDS="3600")
        try:
            yield process.start()
        finally:
            process.stop()


def upload(bot: BotProcess, user: int, name: str, content: bytes):
    mark = bot.server.mark()
    bot.server.push_document(user, name, content)
    return bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=30, after=mark)


def test_citizen_upload_is_refused(bot):
    reply = upload(bot, CITIZEN, "page.txt", PAGE)
    assert "仅限管理员" in reply.params["text"]
    assert not (bot.work / "knowledge" / "articles" / "page.txt").exists()


def test_bad_uploads_are_explained_and_change_nothing(bot):
    before = bot.command(ADMIN, "/kb").params["text"]
    reply = upload(bot, ADMIN, "extra.yaml", b"entries:\n  - id: x\n    type: faq\n    title: [oops\n")
    # path:line: for tools, then the line and the problem in Chinese for the admin.
    assert re.search(r"extra\.yaml:(\d+): 第\1行：YAML 语法错误", reply.params["text"]), reply.params["text"]
    assert "没有任何改动" in reply.params["text"]
    assert "不支持" in upload(bot, ADMIN, "report.pdf", b"%PDF").params["text"]
    assert "太大" in upload(bot, ADMIN, "big.txt", "质量".encode() * 200_000).params["text"]
    assert bot.command(ADMIN, "/kb").params["text"] == before
    assert not (bot.work / "knowledge" / "extra.yaml").exists()


def test_upload_then_rollback(bot):
    assert not bot.ask(CITIZEN, PAGE_QUESTION).params["reply_markup"]["inline_keyboard"][-1][0]["callback_data"] \
        .startswith("vote:")  # not answered yet: suggestions only
    summary = upload(bot, ADMIN, "liuzhou.txt", PAGE)
    assert "柳州" in summary.params["text"] and "段" in summary.params["text"]
    confirm = next(data for data in buttons(summary) if data.startswith("up:go:"))
    assert "仅限" in bot.press(CITIZEN, summary.result, confirm).params["text"]  # forged press
    mark = bot.server.mark()
    bot.server.push_callback(ADMIN, summary.result, confirm)
    done = bot.server.wait_for("editMessageText", lambda c: "已更新知识库" in c.params["text"], timeout=60,
                               after=mark)
    assert "liuzhou.txt" in done.params["text"]
    answer = bot.ask(CITIZEN, PAGE_QUESTION)
    assert "柳东新区" in answer.params["text"]
    status = bot.command(ADMIN, "/kb").params["text"]
    assert "上传" in status and "个不同网址" in status and "官方发布" in status

    prompt = bot.command(ADMIN, "/rollback")
    mark = bot.server.mark()
    bot.server.push_callback(ADMIN, prompt.result, buttons(prompt)[0])
    bot.server.wait_for("editMessageText", lambda c: "已撤销" in c.params["text"], timeout=60, after=mark)
    assert "柳东新区" not in bot.ask(CITIZEN, PAGE_QUESTION).params["text"]
    assert not (bot.work / "knowledge" / "articles" / "liuzhou.txt").exists()


def test_answers_stay_right_while_reloads_run(bot):
    mark = bot.server.mark()
    for _ in range(5):
        bot.server.push_command(ADMIN, "/reload")
        answer = bot.ask(CITIZEN + 1, "郴州质量开放日发放了多少宣传单")  # not held up by the reloads
        assert "6000" in answer.params["text"]
    after = mark
    for _ in range(5):  # every reload is answered, in order, in the admin's chat
        reply = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN
                                    and "重新加载" in c.params.get("text", ""), timeout=60, after=after)
        after = reply.index + 1


def test_disk_edit_with_errors_keeps_the_old_knowledge(bot):
    broken = bot.work / "knowledge" / "broken.yaml"
    broken.write_text("entries:\n  - id: [nope\n", encoding="utf-8")
    try:
        reply = bot.command(ADMIN, "/reload").params["text"]
        assert "broken.yaml:" in reply and "继续使用原有知识" in reply
        assert "6000" in bot.ask(CITIZEN + 2, "郴州质量开放日发放了多少宣传单").params["text"]
    finally:
        broken.unlink()
        bot.command(ADMIN, "/reload")


def test_attaching_an_unanswered_question_makes_it_answerable(bot):
    question = "每年秋天的质量节叫什么"
    assert "抱歉" in bot.ask(CITIZEN + 3, question).params["text"]
    review = bot.command(ADMIN, "/unanswered")
    assert question in review.params["text"]
    markup = review.params["reply_markup"]["inline_keyboard"]
    number = next(line.split(".")[0] for line in review.params["text"].splitlines() if question in line)
    attach = next(row[0]["callback_data"] for row in markup if row[0]["text"].startswith(f"{number}→"))  # best guess
    assert "仅限" in bot.press(CITIZEN, review.result, attach).params["text"]
    mark = bot.server.mark()
    bot.server.push_callback(ADMIN, review.result, attach)
    bot.server.wait_for("sendMessage", lambda c: "已把" in c.params.get("text", ""), timeout=60, after=mark)
    answer = bot.ask(CITIZEN + 3, question)
    assert "抱歉" not in answer.params["text"] and "来源" in answer.params["text"]
    assert question not in bot.command(ADMIN, "/unanswered").params["text"]


def test_rollback_can_be_cancelled_and_kb_names_the_admin(bot):
    bot.server.set_username(ADMIN, "admin_li")
    entry = ("entries:\n  - id: faq-heron-day\n    type: faq\n    title: 白鹭质量日\n    question: 白鹭质量日在哪天\n"
             "    answer: 白鹭质量日在每年7月7日。\n    source:\n      title: 示例\n      origin: 示例网站\n").encode()
    summary = upload(bot, ADMIN, "heron.yaml", entry)
    mark = bot.server.mark()
    bot.server.push_callback(ADMIN, summary.result, next(d for d in buttons(summary) if d.startswith("up:go:")))
    bot.server.wait_for("editMessageText", lambda c: "已更新知识库" in c.params["text"], timeout=60, after=mark)
    status = bot.command(ADMIN, "/kb").params["text"]
    assert f"@admin_li（{ADMIN}）" in status, status

    prompt = bot.command(ADMIN, "/rollback")
    labels = [b["text"] for row in prompt.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["确认撤销", "取消"]
    mark = bot.server.mark()
    bot.server.push_callback(ADMIN, prompt.result, buttons(prompt)[1])
    cancelled = bot.server.wait_for("editMessageText", timeout=30, after=mark)
    assert "已取消" in cancelled.params["text"] and (bot.work / "knowledge" / "heron.yaml").exists()

    prompt = bot.command(ADMIN, "/rollback")
    record = re.search(r"将撤销 (\S+)（", prompt.params["text"]).group(1)
    mark = bot.server.mark()
    bot.server.push_callback(ADMIN, prompt.result, buttons(prompt)[0])
    done = bot.server.wait_for("editMessageText", lambda c: "已撤销" in c.params["text"], timeout=60, after=mark)
    assert done.params["text"].startswith(f"已撤销 {record}（") and done.params["text"].count("撤销") == 1
    assert not (bot.work / "knowledge" / "heron.yaml").exists()
