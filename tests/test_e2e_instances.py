"""Webhook mode and several instances, end to end: real bot processes, the suite's Bot API server
delivering updates by webhook, a round-robin load balancer, one shared PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.store.repositories import Store
from tests.botproc import BotProcess, buttons
from tests.conftest import DATA, KNOWLEDGE
from tests.fakes import FakeTelegram
from tests.fakes.balancer import Balancer
from tests.pg import _free_port

ADMIN = 760001
PAGE = (DATA / "holdout" / "pages" / "page_a.txt").read_bytes()
PAGE_QUESTION = "柳州2021年质量月启动仪式在哪里举行"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_webhook_mode_answers_checks_the_secret_and_reports_health(tmp_path: Path):
    port = _free_port()
    with FakeTelegram(token="737373:WEBHOOK-TEST-TOKEN") as server:
        bot = BotProcess(server, tmp_path, QBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                         QBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}").start()
        try:
            webhook = server.wait_for("setWebhook", timeout=30, after=0)
            assert webhook.params["url"].endswith("/telegram") and len(webhook.params["secret_token"]) >= 32
            assert "9月" in bot.ask(500301, "质量月是每年几月").params["text"]
            assert http("GET", f"http://127.0.0.1:{port}/healthz") == 200
            forged = json.dumps({"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/staff add 1",
                                                             "chat": {"id": 1, "type": "private"}}}).encode()
            assert http("POST", f"http://127.0.0.1:{port}/telegram", forged,
                        {"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
            assert http("POST", f"http://127.0.0.1:{port}/telegram", forged) == 403
            assert http("GET", f"http://127.0.0.1:{port}/other") == 404
        finally:
            bot.stop()
        assert "WEBHOOK-TEST-TOKEN" not in bot.log.read_text(encoding="utf-8")
        assert not [c for c in server.calls if c.method == "getUpdates"]


def test_three_instances_behave_as_one_bot(tmp_path: Path, postgres):
    url = postgres.new_database()
    chats = list(range(1, 301))
    store = Store(tmp_path / "unused", url=url)
    for chat in chats:
        store.subscriptions.subscribe(chat)
    store.close()
    ports = [_free_port() for _ in range(3)]
    balancer = Balancer([("127.0.0.1", port) for port in ports]).start()
    text = "三个实例的群发"
    with FakeTelegram(token="747474:INSTANCES-TEST-TOKEN") as server:
        for n in range(3):  # each instance has its own copy of the knowledge folder
            shutil.copytree(KNOWLEDGE, tmp_path / f"instance{n}" / "knowledge")
        bots = [BotProcess(server, tmp_path / f"instance{n}", admins=(ADMIN,), QBOT_DATABASE_URL=url,
                           QBOT_WEBHOOK_URL=f"{balancer.url}/telegram", QBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                           QBOT_SYNC_SECONDS="1", QBOT_BROADCAST_RATE="60",
                           QBOT_KNOWLEDGE_DIR=str(tmp_path / f"instance{n}" / "knowledge"))
                for n, port in enumerate(ports)]
        try:
            for bot in bots:
                bot.work.mkdir(parents=True, exist_ok=True)
                bot.start()
            after = 0
            for _ in bots:  # each instance registers the webhook once its server listens
                after = server.wait_for("setWebhook", timeout=60, after=after).index + 1
            for user in range(500401, 500407):  # questions spread over the instances
                assert "9月" in bots[0].ask(user, "质量月是每年几月").params["text"]
            # A page uploaded and confirmed through the balancer reaches every instance's knowledge.
            mark = server.mark()
            server.push_document(ADMIN, "liuzhou.txt", PAGE)
            summary = server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN, timeout=60, after=mark)
            mark = server.mark()
            server.push_callback(ADMIN, summary.result, next(d for d in buttons(summary) if d.startswith("up:go:")))
            server.wait_for("editMessageText", lambda c: "已更新知识库" in c.params["text"], timeout=60, after=mark)
            streak, user = 0, 500500
            while streak < 3:  # three answers in a row: each from a different instance (round robin)
                user += 1
                assert user < 501000, "the upload did not reach every instance"
                streak = streak + 1 if "柳东新区" in bots[0].ask(user, PAGE_QUESTION).params["text"] else 0
            when = dt.datetime.now(SHANGHAI) + dt.timedelta(seconds=6)
            scheduled = bots[0].command(ADMIN, f"/schedule {when:%Y-%m-%d %H:%M:%S} 三个实例的提醒")
            assert "已安排提醒" in scheduled.params["text"]
            preview = bots[0].command(ADMIN, f"/broadcast {text}")
            assert "300 位订阅者" in preview.params["text"]
            bots[0].press(ADMIN, preview.result, next(data for data in buttons(preview) if data.startswith("bc:go:")))
            server.wait_for("sendMessage", lambda c: c.params.get("text") == text and c.ok, timeout=60, after=0)
            sender = next(bot for bot in bots if "broadcast b1: 300 recipients" in bot.log.read_text(encoding="utf-8"))
            server.wait_for("sendMessage", lambda c: c.params.get("text") == text and c.params["chat_id"] == 60,
                            timeout=60, after=0)
            sender.stop(kill=True)  # the broadcasting instance dies mid-broadcast
            before_kill = {c.params["chat_id"] for c in server.calls
                           if c.method == "sendMessage" and c.ok and c.params.get("text") == text}
            assert len(before_kill) < len(chats)
            for chat in chats:
                server.wait_for("sendMessage", lambda c, chat=chat: c.params.get("text") == text and c.ok
                                and c.params["chat_id"] == chat, timeout=90, after=0)
            for chat in chats:
                server.wait_for("sendMessage", lambda c, chat=chat: c.params.get("text") == "三个实例的提醒" and c.ok
                                and c.params["chat_id"] == chat, timeout=90, after=0)
        finally:
            for bot in bots:
                bot.stop()
            balancer.stop()
    broadcast = Counter(c.params["chat_id"] for c in server.calls
                        if c.method == "sendMessage" and c.ok and c.params.get("text") == text)
    reminder = Counter(c.params["chat_id"] for c in server.calls
                       if c.method == "sendMessage" and c.ok and c.params.get("text") == "三个实例的提醒")
    assert set(broadcast) == set(chats)
    assert sum(count - 1 for count in broadcast.values()) <= 8  # at most the messages in flight at the kill
    assert set(reminder) == set(chats) and set(reminder.values()) == {1}  # the reminder fired once
    assert len(set(balancer.forwarded)) == 3  # every instance took updates


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
