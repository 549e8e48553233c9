"""Handlers through the real PTB Application, with the HTTP round trip recorded offline."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.faces.telegram.app import build_application
from bot.faces.telegram.render import split_message
from bot.services import build_services
from bot.settings import Settings
from bot.store.repositories import Store
from tests.recording import BOT_ID, BOT_USERNAME, RecordingRequest

ADMIN = 1001
CITIZEN = 2002
OTHER = 3003
_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def user(user_id: int, language: str = "zh-hans") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "用户", "language_code": language}


def message_update(user_id: int, text: str, chat_id: int | None = None, chat_type: str = "private",
                   reply_to_bot: bool = False, language: str = "zh-hans") -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_message_ids), "date": int(time.time()), "text": text,
        "chat": {"id": chat_id or user_id, "type": chat_type}, "from": user(user_id, language),
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if reply_to_bot:
        message["reply_to_message"] = {"message_id": 1, "date": int(time.time()), "text": "答",
                                       "chat": message["chat"], "from": {"id": BOT_ID, "is_bot": True,
                                                                         "first_name": "Bot", "username": BOT_USERNAME}}
    return {"update_id": next(_update_ids), "message": message}


def callback_update(user_id: int, data: str) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "callback_query": {
        "id": str(next(_update_ids)), "from": user(user_id), "chat_instance": "ci", "data": data,
        "message": {"message_id": 1, "date": int(time.time()), "text": "答",
                    "chat": {"id": user_id, "type": "private"}},
    }}


class Harness:
    def __init__(self, application: Application, request: RecordingRequest, store: Store) -> None:
        self.application = application
        self.request = request
        self.store = store

    async def send(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Processes one update; returns the Bot API calls it caused (method in 'method')."""
        before = len(self.request.calls)
        await self.application.process_update(Update.de_json(update, self.application.bot))
        return [{"method": call.method, **call.params} for call in self.request.calls[before:]]

    async def say(self, user_id: int, text: str, **kwargs: Any) -> list[str]:
        calls = await self.send(message_update(user_id, text, **kwargs))
        return [call["text"] for call in calls if call["method"] == "sendMessage"]


@pytest.fixture
async def bot(engine, tmp_path: Path):
    settings = Settings(token="123456:TEST-TOKEN-ABCDEF", api_url="http://127.0.0.1:9", admins=frozenset({ADMIN}),
                        data_dir=tmp_path, flood_messages=5, flood_seconds=60)
    store = Store(tmp_path)
    request = RecordingRequest()
    application = build_application(build_services(settings, engine, store), request=request)
    await application.initialize()
    yield Harness(application, request, store)
    await application.shutdown()
    store.close()


async def test_question_gets_cited_answer_with_vote_buttons(bot):
    calls = await bot.send(message_update(CITIZEN, "郴州质量开放日发放了多少宣传单"))
    reply = next(call for call in calls if call["method"] == "sendMessage")
    assert "6000余份" in reply["text"]
    assert "<i>来源：《" in reply["text"] and reply["parse_mode"] == "HTML"
    buttons = [b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert any(data.endswith(":1") and data.startswith("vote:") for data in buttons)
    assert bot.store.questions.stats(0, 0).questions == 1


async def test_traditional_question_gets_traditional_reply(bot):
    texts = await bot.say(CITIZEN, "江西質量月啟動儀式由誰宣布啟動?")
    assert "王福平" in texts[0] and "來源" in texts[0] and "来源" not in texts[0]


async def test_unknown_question_offers_suggestions_that_answer_when_pressed(bot):
    calls = await bot.send(message_update(CITIZEN, "今天天气怎么样"))
    reply = next(call for call in calls if call["method"] == "sendMessage")
    assert "抱歉" in reply["text"]
    data = reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data.startswith("ask:")
    pressed = await bot.send(callback_update(CITIZEN, data))
    assert any(call["method"] == "answerCallbackQuery" for call in pressed)
    answer = next(call for call in pressed if call["method"] == "sendMessage")
    assert "质量月" in answer["text"] and "来源" in answer["text"]
    assert bot.store.questions.recent_unanswered()[0]["sample"] == "今天天气怎么样"


async def test_votes_are_stored_and_forged_votes_change_nothing(bot):
    calls = await bot.send(message_update(CITIZEN, "质量月是每年几月"))
    reply = next(call for call in calls if call["method"] == "sendMessage")
    vote = next(b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row
                if b["callback_data"].startswith("vote:") and b["callback_data"].endswith(":1"))
    answered = await bot.send(callback_update(CITIZEN, vote))
    assert answered[-1]["method"] == "answerCallbackQuery" and "谢谢" in answered[-1]["text"]
    await bot.send(callback_update(CITIZEN, vote[:-1] + "0"))  # changing one's mind replaces the vote
    for forged in ("vote:999999:1", "vote:abc:1", "vote:1:7", "entry:../../etc", "browse:x:1", "nonsense"):
        await bot.send(callback_update(OTHER, forged))
    stats = bot.store.questions.stats(0, 0)
    assert (stats.up, stats.down) == (0, 1)


async def test_subscribe_and_unsubscribe_are_confirmed(bot):
    assert "已订阅" in (await bot.say(CITIZEN, "/subscribe"))[0]
    assert "已经订阅" in (await bot.say(CITIZEN, "/subscribe"))[0]
    assert bot.store.subscriptions.active_ids() == [CITIZEN]
    assert "已取消订阅" in (await bot.say(CITIZEN, "/unsubscribe"))[0]
    assert "没有订阅" in (await bot.say(CITIZEN, "/unsubscribe"))[0]
    assert bot.store.subscriptions.active_ids() == []


async def test_citizens_are_refused_staff_and_admin_commands(bot):
    for command in ("/staff add 3003", "/staff list", "/stats", "/unanswered"):
        texts = await bot.say(CITIZEN, command)
        assert texts and "仅限" in texts[0], command
    assert bot.store.staff.ids() == []


async def test_admin_manages_staff_and_staff_sees_stats(bot):
    assert "已将 3003 设为工作人员" in (await bot.say(ADMIN, "/staff add 3003"))[0]
    assert "3003" in (await bot.say(ADMIN, "/staff list"))[0]
    await bot.say(CITIZEN, "今天天气怎么样")
    stats = (await bot.say(OTHER, "/stats"))[0]
    assert "提问总数：1" in stats and "今天天气怎么样" in stats
    assert "仅限管理员" in (await bot.say(OTHER, "/staff add 2002"))[0]  # staff cannot make staff
    assert "今天天气怎么样" in (await bot.say(ADMIN, "/unanswered"))[0]
    assert "已取消" in (await bot.say(ADMIN, "/staff remove 3003"))[0]
    assert "仅限" in (await bot.say(OTHER, "/stats"))[0]  # checked when the action runs
    assert "用法" in (await bot.say(ADMIN, "/staff add nobody"))[0]


async def test_help_shows_each_role_its_commands(bot):
    citizen = (await bot.say(CITIZEN, "/help"))[0]
    admin = (await bot.say(ADMIN, "/help"))[0]
    assert "/subscribe" in citizen and "/stats" not in citizen and "/staff" not in citizen
    assert "/stats" in admin and "/staff" in admin and "/unanswered" in admin


async def test_flooding_user_gets_one_warning_and_others_are_unaffected(bot):
    replies = [await bot.say(CITIZEN, "质量月是每年几月") for _ in range(9)]
    assert all(r and "9月" in r[0] for r in replies[:5])
    assert "太快" in replies[5][0]
    assert replies[6:] == [[], [], []]
    assert "9月" in (await bot.say(OTHER, "质量月是每年几月"))[0]


async def test_groups_answer_mentions_replies_and_ask_only(bot):
    group = -100123
    assert await bot.say(CITIZEN, "大家好", chat_id=group, chat_type="supergroup") == []
    mention = await bot.say(CITIZEN, f"@{BOT_USERNAME} 质量月是每年几月", chat_id=group, chat_type="supergroup")
    assert "9月" in mention[0]
    reply = await bot.say(CITIZEN, "质量发展纲要是谁颁布的", chat_id=group, chat_type="supergroup", reply_to_bot=True)
    assert "国务院" in reply[0]
    asked = await bot.say(CITIZEN, "/ask 郑长征讲座的题目是什么", chat_id=group, chat_type="supergroup")
    assert "质量发展与质量驱动力" in asked[0]
    assert "/ask" in (await bot.say(CITIZEN, "/ask", chat_id=group, chat_type="supergroup"))[0]


async def test_inline_mode_lists_shareable_answers(bot):
    calls = await bot.send({"update_id": next(_update_ids), "inline_query": {
        "id": "q1", "from": user(CITIZEN), "query": "质量月是每年几月", "offset": ""}})
    answer = next(call for call in calls if call["method"] == "answerInlineQuery")
    assert answer["results"]
    assert "9月" in answer["results"][0]["input_message_content"]["message_text"]
    assert bot.store.questions.stats(0, 0).questions == 0  # keystrokes are not logged as questions


async def test_browsing_policies_pages_and_opens_entries(bot):
    calls = await bot.send(message_update(CITIZEN, "/policies"))
    listing = next(call for call in calls if call["method"] == "sendMessage")
    rows = listing["reply_markup"]["inline_keyboard"]
    assert "第1/" in listing["text"]
    assert rows[-1][-1]["callback_data"] == "browse:policy:2"
    turned = await bot.send(callback_update(CITIZEN, "browse:policy:2"))
    assert any(call["method"] == "editMessageText" and "第2/" in call["text"] for call in turned)
    opened = await bot.send(callback_update(CITIZEN, rows[0][0]["callback_data"]))
    entry = next(call for call in opened if call["method"] == "sendMessage")
    assert "<b>" in entry["text"] and "来源" in entry["text"]


async def test_non_text_messages_get_a_polite_reply(bot):
    calls = await bot.send({"update_id": next(_update_ids), "message": {
        "message_id": 5, "date": int(time.time()), "chat": {"id": CITIZEN, "type": "private"},
        "from": user(CITIZEN), "sticker": {"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1,
                                           "is_animated": False, "is_video": False, "type": "regular"}}})
    assert any("文字" in call.get("text", "") for call in calls if call["method"] == "sendMessage")
    edited_message = message_update(CITIZEN, "质量月")["message"]
    edited = await bot.send({"update_id": next(_update_ids), "edited_message": edited_message})
    assert edited == []


async def test_errors_get_an_apology_not_a_traceback(bot, monkeypatch):
    def broken(question: str):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(bot.application.bot_data["services"].knowledge, "ask", broken)
    texts = await bot.say(CITIZEN, "质量月是每年几月")
    assert texts == ["抱歉，处理您的消息时出了点问题，请稍后再试。"]


def test_long_messages_are_split_under_the_limit():
    text = "\n".join(f"<i>第{i}行</i> " + "质" * 90 for i in range(200))
    pieces = split_message(text)
    assert len(pieces) > 1 and all(len(piece) <= 4096 for piece in pieces)
    assert "\n".join(pieces) == text
    assert all(piece.count("<i>") == piece.count("</i>") for piece in pieces)


async def test_knowledge_and_user_text_is_escaped(tmp_path: Path):
    from bot.answers.engine import Engine
    from bot.knowledge.loader import load_folder

    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "faq.yaml").write_text(
        "entries:\n  - id: faq-markup\n    type: faq\n    title: 标签<b>测试</b>\n    question: 标记符号测试是什么\n"
        "    answer: 标记符号测试的答案是 A<B & C>D。\n"
        "    source:\n      title: 《来源<i>》\n      origin: 网站&公司\n",
        encoding="utf-8")
    store = Store(tmp_path / "data")
    settings = Settings(token="123456:TEST-TOKEN-ABCDEF", api_url="http://127.0.0.1:9", data_dir=tmp_path,
                        knowledge_dir=folder, flood_messages=20, flood_seconds=60)
    request = RecordingRequest()
    application = build_application(build_services(settings, Engine(load_folder(folder).snapshot), store),
                                    request=request)
    await application.initialize()
    harness = Harness(application, request, store)
    texts = await harness.say(CITIZEN, "标记符号测试是什么")
    await application.shutdown()
    assert "A&lt;B &amp; C&gt;D" in texts[0]
    assert "网站&amp;公司" in texts[0] and "来源&lt;i&gt;" in texts[0]


async def test_stats_merges_near_identical_unanswered_questions_as_unanswered_does(bot):
    await bot.say(ADMIN, "/staff add 3003")
    for question in ("明天上海会不会下雨", "明天上海会不会下雨呢", "明天上海会不会下雨啊"):
        await bot.say(CITIZEN, question)
    stats = (await bot.say(OTHER, "/stats"))[0]
    lines = [line for line in stats.splitlines() if "明天上海会不会下雨" in line]
    assert len(lines) == 1 and lines[0].startswith("3 ×"), stats


async def test_replies_go_where_reply_text_would_send_them():
    """`send` builds replies itself (no Message is made from the reply): for a private chat, a group
    (the question quoted), a forum topic and a business chat, what it sends is what PTB's
    Message.reply_text sends, markup and link preview included."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
    from telegram.ext import ExtBot

    from bot.faces.telegram.handlers import send

    request = RecordingRequest()
    bot = ExtBot("123456:TEST-TOKEN-ABCDEF", request=request, get_updates_request=RecordingRequest())
    await bot.initialize()
    private = message_update(CITIZEN, "问题")["message"]
    group = message_update(CITIZEN, "问题", chat_id=-100123, chat_type="supergroup")["message"]
    topic = {**group, "message_thread_id": 7, "is_topic_message": True}
    business = {**private, "business_connection_id": "bc1"}
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("质量月是什么？", callback_data="ask:abc")]])
    for data in (private, group, topic, business):
        message = Message.de_json(data, bot)
        request.clear()
        await message.reply_text("<b>答</b>", parse_mode="HTML", reply_markup=markup, disable_web_page_preview=True)
        await send(message, "<b>答</b>", traditional=False, markup=markup, escape=False)
        by_ptb, ours = request.sent()
        assert ours == by_ptb
    await bot.shutdown()
