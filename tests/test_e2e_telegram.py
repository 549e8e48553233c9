"""End to end: the real bot process, over real HTTP, against the suite's own Bot API server.

One bot process serves the whole module (start-up builds the index once); each test plays
different users so the tests do not depend on each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.botproc import BotProcess, buttons
from tests.fakes import FakeTelegram

ADMIN = 900001
TOKEN = "424242:E2E-SECRET-TOKEN-abcdef"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    server = FakeTelegram(token=TOKEN)
    server.start()
    process = BotProcess(server, tmp_path_factory.mktemp("bot"), admins=(ADMIN,))
    try:
        yield process.start()
    finally:
        process.stop()
        server.stop()


def test_start_publishes_commands_and_never_logs_the_token(bot):
    commands = [c for c in bot.server.calls if c.method == "setMyCommands"]
    assert any("subscribe" in [item["command"] for item in c.params["commands"]] for c in commands)
    reply = bot.command(500001, "/start")
    assert "质量政策问答机器人" in reply.params["text"]
    assert len(buttons(reply)) == 3
    assert TOKEN not in bot.log.read_text(encoding="utf-8")
    assert TOKEN.split(":")[1] not in bot.log.read_text(encoding="utf-8")


def test_citizen_asks_and_gets_a_cited_answer(bot):
    started = time.perf_counter()
    reply = bot.ask(500002, "湖南2020年质量月的主题是什么")
    elapsed = time.perf_counter() - started
    text = reply.params["text"]
    assert "建设质量强省" in text and "决胜全面小康" in text
    assert "<i>来源：《" in text
    assert any(data.startswith("vote:") for data in buttons(reply))
    print(f"\nupdate queued -> answer sent: {elapsed * 1000:.0f} ms")


def test_citizen_presses_a_suggestion_and_votes(bot):
    user = 500003
    reply = bot.ask(user, "今天天气怎么样")
    assert "抱歉" in reply.params["text"]
    suggestion = buttons(reply)[0]
    mark = bot.server.mark()
    bot.server.push_callback(user, reply.result, suggestion)
    answer = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=20, after=mark)
    assert "质量月" in answer.params["text"] and "来源" in answer.params["text"]
    vote = next(data for data in buttons(answer) if data.startswith("vote:") and data.endswith(":1"))
    thanks = bot.press(user, answer.result, vote)
    assert "谢谢" in thanks.params["text"]


def test_subscribe_and_unsubscribe(bot):
    user = 500004
    assert "已订阅" in bot.command(user, "/subscribe").params["text"]
    assert "已取消订阅" in bot.command(user, "/unsubscribe").params["text"]


def test_citizen_is_refused_and_admin_adds_staff(bot):
    citizen, newcomer = 500005, 500006
    assert "仅限" in bot.command(citizen, "/staff add 500005").params["text"]
    assert "仅限" in bot.command(citizen, "/stats").params["text"]
    assert "已将 500006 设为工作人员" in bot.command(ADMIN, "/staff add 500006").params["text"]
    stats = bot.command(newcomer, "/stats").params["text"]
    assert "提问总数" in stats
    assert "500006" in bot.command(ADMIN, "/staff list").params["text"]


def test_traditional_and_inline(bot):
    reply = bot.ask(500007, "江西質量月啟動儀式在哪裡舉行")
    assert "贛州" in reply.params["text"] and "來源" in reply.params["text"]
    mark = bot.server.mark()
    bot.server.push_inline_query(500007, "质量月是每年几月")
    answer = bot.server.wait_for("answerInlineQuery", timeout=20, after=mark)
    assert "9月" in answer.params["results"][0]["input_message_content"]["message_text"]


def test_answers_are_retried_after_429_and_502_not_replaced_by_an_apology(bot):
    for user, (code, description, retry_after) in enumerate(((429, "Too Many Requests: retry after 1", 1),
                                                             (502, "Bad Gateway", None)), start=500101):
        bot.server.fail_next("sendMessage", code, description, retry_after=retry_after, chat_id=user)
        mark = bot.server.mark()
        bot.server.push_message(user, "质量月是每年几月")
        answer = bot.server.wait_for("sendMessage", lambda c, user=user: c.params["chat_id"] == user and c.ok,
                                     timeout=30, after=mark)
        assert "9月" in answer.params["text"]
        sent = [c for c in bot.server.calls[mark:] if c.method == "sendMessage" and c.params["chat_id"] == user]
        assert [c.ok for c in sent] == [False, True]  # the same answer again, no apology


def test_one_users_burst_is_answered_in_order(bot):
    user = 500102
    questions = ["质量月是每年几月", "郴州质量开放日发放了多少宣传单", "湖南有多少家检验检测机构",
                 "质量发展纲要是谁颁布的"]
    mark = bot.server.mark()
    for question in questions:
        bot.server.push_message(user, question)
    answers = []
    after = mark
    for _ in questions:
        reply = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=30, after=after)
        answers.append(reply.params["text"])
        after = reply.index + 1
    assert "9月" in answers[0] and "6000" in answers[1] and "国务院" in answers[3]
