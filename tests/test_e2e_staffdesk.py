"""End to end through the suite's Bot API server (one real bot process in polling mode): /stats as a
chart, /export as CSV documents, a hand-off round trip through the staff chat, /metrics and /healthz,
block and unblock notices, deep links to an entry, and error alerts to the admin chat."""

from __future__ import annotations

import csv
import io
import sqlite3
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.faces.buttons import deep_link_payload
from bot.insight.chart import PNG_MAGIC
from bot.knowledge.loader import load_folder
from tests.botproc import BotProcess, buttons
from tests.conftest import KNOWLEDGE
from tests.fakes import FakeTelegram, UploadedFile
from tests.pg import _free_port

ADMIN = 910001
STAFF = 910002
STAFF_CHAT = -1009100001
ADMIN_CHAT = -1009100002
TOKEN = "515151:E2E-STAFFDESK-TOKEN-abcdef"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    server = FakeTelegram(token=TOKEN)
    server.start()
    process = BotProcess(server, tmp_path_factory.mktemp("staffdesk"), admins=(ADMIN,),
                         QBOT_STAFF_CHAT=str(STAFF_CHAT), QBOT_ADMIN_CHAT=str(ADMIN_CHAT),
                         QBOT_HTTP_PORT=f"127.0.0.1:{_free_port()}")
    try:
        process.start()
        assert "已将" in process.command(ADMIN, f"/staff add {STAFF}").params["text"]
        yield process
    finally:
        process.stop()
        server.stop()


def port_of(bot: BotProcess) -> int:
    return int(bot.env["QBOT_HTTP_PORT"].rsplit(":", 1)[1])


def get(bot: BotProcess, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port_of(bot)}{path}", timeout=10) as response:
        return response.status, response.read().decode("utf-8")


def staff_command(bot: BotProcess, text: str, method: str):
    mark = bot.server.mark()
    bot.server.push_command(STAFF, text)
    return bot.server.wait_for(method, lambda c: c.params["chat_id"] == STAFF, timeout=60, after=mark), mark


def test_stats_sends_a_chart_with_a_summary_and_window_buttons(bot):
    for user, question in ((920001, "质量月是每年几月"), (920002, "今天天气怎么样"), (920003, "今天天气怎么样")):
        bot.ask(user, question)
    photo, mark = staff_command(bot, "/stats", "sendPhoto")
    text = next(c for c in bot.server.calls[mark:] if c.method == "sendMessage" and c.params["chat_id"] == STAFF)
    assert "提问总数" in text.params["text"]
    image = photo.params["photo"]
    assert isinstance(image, UploadedFile) and image.content.startswith(PNG_MAGIC)
    caption = photo.params["caption"]
    assert caption.startswith("近30天：提问 ") and "已回答" in caption and "人工咨询待回复" in caption
    assert buttons(photo) == ["st:7", "st:30", "st:365"]
    mark = bot.server.mark()
    bot.server.push_callback(STAFF, photo.result, "st:7")
    week = bot.server.wait_for("sendPhoto", lambda c: c.params["chat_id"] == STAFF, timeout=60, after=mark)
    assert week.params["caption"].startswith("近7天：") and week.params["photo"].content.startswith(PNG_MAGIC)
    mark = bot.server.mark()
    bot.server.push_callback(920001, photo.result, "st:365")  # a citizen pressing a forwarded chart
    refused = bot.server.wait_for("answerCallbackQuery", timeout=20, after=mark)
    assert "仅限" in refused.params["text"]


def test_export_sends_csv_documents_with_the_questions_asked(bot):
    bot.ask(920011, "质量发展纲要是谁颁布的")
    bot.ask(920012, "导出测试：今天吃什么")
    mark = bot.server.mark()
    bot.server.push_command(STAFF, "/export 7d")
    for _ in range(5):
        bot.server.wait_for("sendDocument", lambda c: c.params["chat_id"] == STAFF, timeout=60, after=mark)
        mark = next(c.index for c in bot.server.calls[mark:] if c.method == "sendDocument") + 1
    documents = {c.params["document"].filename: c.params["document"].content for c in bot.server.calls
                 if c.method == "sendDocument" and c.params["chat_id"] == STAFF}
    questions = next(data for name, data in documents.items() if name.startswith("questions-"))
    assert questions.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(questions.decode("utf-8-sig"))))
    asked = {row["问题"]: row for row in rows}
    assert "质量发展纲要是谁颁布的" in asked and asked["导出测试：今天吃什么"]["已回答"] == "0"
    assert all(row["用户代号"] and row["用户代号"] != "920011" for row in rows)
    unanswered = next(data for name, data in documents.items() if name.startswith("unanswered-"))
    assert "导出测试：今天吃什么" in unanswered.decode("utf-8-sig")
    assert {name.split("-")[0] for name in documents} >= {"questions", "unanswered", "votes", "deliveries", "handoffs"}
    usage, _ = staff_command(bot, "/export someday", "sendMessage")
    assert "用法" in usage.params["text"]
    privacy = bot.command(920013, "/privacy").params["text"]
    assert "导出" in privacy and "代号" in privacy and "转人工" in privacy


def test_a_citizen_is_handed_to_a_person_and_gets_the_staff_reply(bot):
    citizen = 920021
    reply = bot.ask(citizen, "我们小区的电梯多久检修一次")
    assert "抱歉" in reply.params["text"]
    handoff = next(data for data in buttons(reply) if data.startswith("ho:"))
    assert len(handoff.encode()) <= 64
    mark = bot.server.mark()
    bot.server.push_callback(citizen, reply.result, handoff)
    forwarded = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT, timeout=20,
                                    after=mark)
    assert "人工咨询 #" in forwarded.params["text"] and "电梯多久检修" in forwarded.params["text"]
    told = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == citizen, timeout=20, after=mark)
    assert "已转给工作人员" in told.params["text"]
    waiting = staff_command(bot, "/stats", "sendPhoto")[0]
    assert "人工咨询待回复 0" not in waiting.params["caption"]  # the open hand-off is counted
    mark = bot.server.mark()
    bot.server.push_message(STAFF, "您好，电梯每15天至少维护保养一次。", chat_id=STAFF_CHAT, chat_type="supergroup",
                            reply_to_message_id=forwarded.result["message_id"])
    answer = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == citizen, timeout=20, after=mark)
    assert answer.params["text"].startswith("👤 工作人员回复") and "每15天至少维护保养一次" in answer.params["text"]
    relayed = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT, timeout=20,
                                  after=mark)
    assert "已转达给用户" in relayed.params["text"]
    mark = bot.server.mark()
    long_answer = "详细说明。" * 1000  # 5,000 characters: more than one Telegram message holds
    bot.server.push_message(STAFF, long_answer, chat_id=STAFF_CHAT, chat_type="supergroup",
                            reply_to_message_id=forwarded.result["message_id"])
    bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT, timeout=20, after=mark)
    pieces = [c for c in bot.server.calls[mark:] if c.method == "sendMessage" and c.params["chat_id"] == citizen]
    assert len(pieces) == 2 and all(c.ok for c in pieces)
    assert "".join(c.params["text"] for c in pieces).count("详细说明。") == 1000


def test_typing_the_request_hands_over_the_question_written_after_it(bot):
    citizen = 920022
    mark = bot.server.mark()
    bot.server.push_message(citizen, "转人工：企业如何申请质量奖的辅导")
    forwarded = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT, timeout=20,
                                    after=mark)
    assert "企业如何申请质量奖的辅导" in forwarded.params["text"]
    alone = bot.ask(920023, "转人工")  # nothing asked before: it asks for the question
    assert "请在“转人工”后写上您的问题" in alone.params["text"]


def test_metrics_parse_and_health_answers(bot):
    bot.ask(920031, "质量月是每年几月")
    bot.ask(920031, "今天午饭吃什么好")  # one the bot cannot answer, whatever ran before
    status, body = get(bot, "/metrics")
    assert status == 200
    families = {family.name: family for family in text_string_to_metric_families(body)}
    assert {"qbot_questions", "qbot_answered_share", "qbot_reply_seconds", "qbot_errors", "qbot_broadcast_progress",
            "qbot_handoffs_waiting", "qbot_subscribers"} <= set(families)
    asked = {sample.labels["outcome"]: sample.value for sample in families["qbot_questions"].samples
             if sample.name == "qbot_questions_total"}
    assert asked["answered"] >= 1 and asked["unanswered"] >= 1
    count = next(s.value for s in families["qbot_reply_seconds"].samples if s.name == "qbot_reply_seconds_count")
    assert count == asked["answered"] + asked["unanswered"]
    assert 0 < families["qbot_answered_share"].samples[0].value < 1
    assert get(bot, "/healthz") == (200, "ok")


def subscription(bot: BotProcess, chat: int) -> tuple[bool, str | None]:
    with sqlite3.connect(f"file:{bot.work / 'data' / 'bot.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT active, reason FROM subscriptions WHERE chat_id = ?", (chat,)).fetchone()
    return bool(row[0]), row[1]


def member_update(bot: BotProcess, user: int, old: str, new: str) -> None:
    person = {"id": user, "is_bot": False, "first_name": "用户"}
    robot = {"id": bot.server.bot_id, "is_bot": True, "first_name": "Bot", "username": bot.server.bot_username}

    def member(status: str) -> dict:
        return {"status": status, "user": robot, **({"until_date": 0} if status == "kicked" else {})}

    bot.server.push_raw_update({"my_chat_member": {
        "chat": {"id": user, "type": "private", "first_name": "用户"}, "from": person, "date": 1,
        "old_chat_member": member(old), "new_chat_member": member(new)}})


def test_blocking_and_unblocking_the_bot_changes_the_subscription(bot):
    user = 920041
    assert "已订阅" in bot.command(user, "/subscribe").params["text"]
    member_update(bot, user, "member", "kicked")
    bot.command(user, "/help")  # one chat's updates are handled in order: the block is recorded by now
    assert subscription(bot, user) == (False, "blocked")
    member_update(bot, user, "kicked", "member")
    bot.command(user, "/help")
    assert subscription(bot, user) == (True, None)
    assert "已取消订阅" in bot.command(user, "/unsubscribe").params["text"]
    member_update(bot, user, "member", "kicked")
    member_update(bot, user, "kicked", "member")
    bot.command(user, "/help")
    assert subscription(bot, user)[0] is False  # unblocking does not undo /unsubscribe


def test_a_deep_link_opens_its_entry(bot):
    entries = load_folder(KNOWLEDGE).snapshot.entries
    entry = next(e for e in entries if deep_link_payload(e.id).startswith("entry-"))
    hashed = next(e for e in entries if deep_link_payload(e.id).startswith("entryh-"))
    for wanted in (entry, hashed):
        payload = deep_link_payload(wanted.id)
        assert len(payload) <= 64
        reply = bot.command(920051, f"/start {payload}")
        assert wanted.title in reply.params["text"] and "来源" in reply.params["text"]
    assert "质量政策问答机器人" in bot.command(920051, "/start entry-no-such-entry").params["text"]


def test_errors_reach_the_admin_chat_once_per_kind_without_message_text(bot):
    mark = bot.server.mark()
    for user in (920061, 920062):
        bot.server.fail_next("sendMessage", 400, "Bad Request: something unexpected", chat_id=user)
        bot.server.push_message(user, "秘密内容：质量月是每年几月")
        apology = bot.server.wait_for("sendMessage", lambda c, user=user: c.params["chat_id"] == user and c.ok,
                                      timeout=20, after=mark)
        assert "出了点问题" in apology.params["text"]
    alerts = [c for c in bot.server.calls[mark:] if c.method == "sendMessage" and c.params["chat_id"] == ADMIN_CHAT]
    assert len(alerts) == 1
    assert "BadRequest" in alerts[0].params["text"] and "秘密" not in alerts[0].params["text"]
    _, body = get(bot, "/metrics")
    errors = {s.labels.get("kind"): s.value for f in text_string_to_metric_families(body) if f.name == "qbot_errors"
              for s in f.samples if s.name == "qbot_errors_total"}
    assert errors["BadRequest"] >= 2
