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


def test_policies_buttons_fit_telegram_even_for_long_ids(bot):
    """The suite's server refuses button data over 64 bytes, as Telegram does: every page must arrive,
    and the entry whose id is too long for its button still opens."""
    user = 500008
    listing = bot.command(user, "/policies")
    assert listing.ok and "第1/" in listing.params["text"]
    mark = bot.server.mark()
    bot.server.push_callback(user, listing.result, "browse:policy:2")
    page = bot.server.wait_for("editMessageText", timeout=20, after=mark)
    assert page.ok and "第2/" in page.params["text"]
    datas = buttons(listing) + buttons(page)
    assert all(len(data.encode()) <= 64 for data in datas)
    data = next(data for data in datas if data.startswith("entry:#"))  # the 64-byte id, by its short hash
    mark = bot.server.mark()
    bot.server.push_callback(user, page.result, data)
    opened = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=20, after=mark)
    assert opened.ok and "中发〔2017〕24号" in opened.params["text"]


def traditional_command(bot: BotProcess, user: int, text: str, language: str):
    mark = bot.server.mark()
    bot.server.push_command(user, text, language_code=language)
    return bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=20, after=mark)


def test_traditional_chinese_users_get_commands_in_their_own_forms(bot):
    taiwan, hong_kong, hant = 500010, 500011, 500012
    start = traditional_command(bot, taiwan, "/start", "zh-TW")
    assert "您好！我是質量政策問答機器人" in start.params["text"]
    labels = [button["text"] for row in start.params["reply_markup"]["inline_keyboard"] for button in row]
    assert labels[0] == "質量月是什麼？"
    mark = bot.server.mark()
    bot.server.push_callback(taiwan, start.result, buttons(start)[0], language_code="zh-TW")
    answer = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == taiwan, timeout=20, after=mark)
    assert "群眾性質量活動" in answer.params["text"] and "來源" in answer.params["text"]  # what it is; Taiwan's 眾
    help_text = traditional_command(bot, taiwan, "/help", "zh-TW").params["text"]
    assert "直接發送文字即為提問" in help_text and "群組" in help_text
    assert "已訂閱質量月提醒" in traditional_command(bot, taiwan, "/subscribe", "zh-TW").params["text"]
    assert "已訂閲質量月提醒" in traditional_command(bot, hong_kong, "/subscribe", "zh-HK").params["text"]
    assert "直接發送文字即爲提問" in traditional_command(bot, hant, "/help", "zh-hant").params["text"]
    assert "政策文件（第1/" in traditional_command(bot, hant, "/policies", "zh-hant").params["text"]
    unknown = bot.ask(hant, "今天天氣怎麼樣", language_code="zh-hant")
    assert "抱歉" in unknown.params["text"] and "您可以試試這樣問" in unknown.params["text"]
    first = unknown.params["reply_markup"]["inline_keyboard"][0][0]
    assert first["text"] == "質量月是什麼？"


def test_traditional_answers_keep_the_users_character_forms(bot):
    reply = bot.ask(500013, "江西質量月啟動儀式由誰宣布啟動?")
    assert "啟動儀式" in reply.params["text"] and "啓" not in reply.params["text"]


def test_the_first_start_button_says_what_quality_month_is(bot):
    user = 500014
    start = bot.command(user, "/start")
    mark = bot.server.mark()
    bot.server.push_callback(user, start.result, buttons(start)[0])
    answer = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=20, after=mark)
    assert answer.params["text"].startswith("“质量月”是我国")
    assert "群众性质量活动" in answer.params["text"]


def test_votes_remove_the_buttons_thank_once_and_thumbs_down_asks_what_was_wrong(bot):
    user = 500015
    answer = bot.ask(user, "质量月是每年几月")
    down = next(data for data in buttons(answer) if data.startswith("vote:") and data.endswith(":0"))
    mark = bot.server.mark()
    bot.server.push_callback(user, answer.result, down)
    thanks = bot.server.wait_for("answerCallbackQuery", timeout=20, after=mark)
    assert "谢谢" in thanks.params["text"]
    edited = bot.server.wait_for("editMessageReplyMarkup", timeout=20, after=mark)
    assert not any(d.startswith("vote:") for d in buttons(edited))
    why = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=20, after=mark)
    assert why.params["text"] == "哪里不对？"
    labels = [b["text"] for row in why.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["答非所问", "信息过时", "不完整"]
    mark = bot.server.mark()
    again = bot.press(user, answer.result, down)  # an old copy of the buttons, pressed again
    assert "谢谢" not in again.params["text"] and "已经评价过" in again.params["text"]
    bot.ask(user, "郴州质量开放日发放了多少宣传单")  # the next reply is the answer, not an apology or 哪里不对
    assert [c.params["text"][:4] for c in bot.server.calls[mark:] if c.method == "sendMessage"] == ["2020"]
    mark = bot.server.mark()
    bot.server.push_callback(user, why.result, buttons(why)[1])
    noted = bot.server.wait_for("editMessageText", timeout=20, after=mark)
    assert "信息过时" in noted.params["text"] and "质量月是每年几月" in noted.params["text"]
    review = bot.command(ADMIN, "/unanswered").params["text"]
    assert "质量月是每年几月" in review


def test_whoami_and_staff_list_show_names(bot):
    bot.server.set_username(500016, "zhang_san")
    mark = bot.server.mark()
    bot.server.push_command(500016, "/whoami", first_name="张三")
    reply = bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == 500016, timeout=20, after=mark)
    assert "500016" in reply.params["text"] and "@zhang_san" in reply.params["text"]
    assert "已将 500016 设为工作人员" in bot.command(ADMIN, "/staff add 500016").params["text"]
    listing = bot.command(ADMIN, "/staff list").params["text"]
    assert "张三 @zhang_san（500016）" in listing
