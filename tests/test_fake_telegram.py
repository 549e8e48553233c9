"""The fake Bot API server, exercised by the real python-telegram-bot client stack.

If these pass, end-to-end tests of the bot can trust the fake: PTB's own request encoding, update polling and error
mapping run unmodified against it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from tests.fakes import FakeTelegram, UploadedFile

USER = 42
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("再问一次", callback_data="again")]])


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=f"{fake.base_url}/bot", base_file_url=f"{fake.base_url}/file/bot")


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(fake) as client:
        yield client


@asynccontextmanager
async def running_app(fake: FakeTelegram, *handlers: BaseHandler[Any, Any, Any]) -> AsyncIterator[Application]:
    """Start an Application polling the fake exactly the way run_polling would, and stop it cleanly."""
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.base_url}/bot")
        .base_file_url(f"{fake.base_url}/file/bot")
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(f"echo: {update.message.text}", reply_markup=KEYBOARD)


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "quality_test_bot" and me.id == fake.bot_id
    assert me.supports_inline_queries and me.can_join_groups
    assert fake.calls[0].method == "getMe" and fake.calls[0].content_type == ""  # PTB sends no body at all


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake, "999:WRONG"):
            pass
    assert fake.calls[-1].status == 401


async def test_application_echo_and_command(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"欢迎 {context.args}")

    async with running_app(fake, CommandHandler("start", start), MessageHandler(filters.TEXT, echo)):
        mark = fake.mark()
        fake.push_message(USER, "质量月是几月？")
        call = await fake.await_for("sendMessage", lambda c: c.params["chat_id"] == USER, after=mark)
        fake.push_command(USER, "/start 政策")
        welcome = await fake.await_for("sendMessage", lambda c: c.params["text"].startswith("欢迎"), after=mark)

    assert call.params["text"] == "echo: 质量月是几月？"
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "again"
    assert welcome.params["text"] == "欢迎 ['政策']"
    first, second = fake.sent_messages(USER)
    assert (first["message_id"], second["message_id"]) == (2, 4)  # ids are per chat, shared with the user's messages
    assert first["from"]["id"] == fake.bot_id and first["chat"] == {"id": USER, "type": "private", "first_name": "用户"}
    assert first["reply_markup"] == KEYBOARD.to_dict()


async def test_application_confirms_offsets(fake: FakeTelegram) -> None:
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)

    async with running_app(fake, MessageHandler(filters.ALL, record)):
        mark = fake.mark()
        first = fake.push_message(USER, "一")
        last = fake.push_message(USER, "二")
        await fake.await_for("getUpdates", lambda c: c.params.get("offset") == last + 1, after=mark)
        assert fake.pending_updates() == []
    assert seen == [first, last]


async def test_get_updates_offset_limit_timeout_and_filter(fake: FakeTelegram, bot: Bot) -> None:
    ids = [fake.push_message(USER, str(n)) for n in range(3)]
    batch = await bot.get_updates(timeout=0, limit=2)
    assert [u.update_id for u in batch] == ids[:2]
    again = await bot.get_updates(timeout=0)  # nothing confirmed yet: redelivered
    assert [u.update_id for u in again] == ids
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
    assert await bot.get_updates(timeout=0) == ()  # confirmed updates are gone for good

    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3

    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    pushed = fake.push_inline_query(USER, "质量")
    assert [u.update_id for u in await poll] == [pushed]
    assert time.monotonic() - started < 1  # long poll returns as soon as something is queued

    fake.push_message(USER, "not asked for")
    assert await bot.get_updates(offset=pushed + 1, timeout=0, allowed_updates=["inline_query"]) == ()
    assert fake.pending_updates() == []  # dropped, as Telegram does, not kept for later
    fake.push_raw_update({"edited_message": {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"}}})
    assert await bot.get_updates(timeout=0) == ()  # the allowed_updates setting persists
    edited = await bot.get_updates(timeout=0, allowed_updates=[])  # [] means "all default types" again
    assert edited == () and fake.pending_updates() == []
    fake.push_raw_update({"edited_message": {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"}}})
    (update,) = await bot.get_updates(timeout=0)
    assert update.edited_message is not None and update.edited_message.chat_id == USER


async def test_callback_query_reaches_handler(fake: FakeTelegram) -> None:
    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("好的")
        await query.edit_message_text(f"{query.data}: {query.message.text}")  # type: ignore[union-attr]

    async with running_app(fake, CallbackQueryHandler(on_button), MessageHandler(filters.TEXT, echo)):
        mark = fake.mark()
        fake.push_message(USER, "hi")
        sent = (await fake.await_for("sendMessage", after=mark)).result
        fake.push_callback(USER, sent, "again")
        answer = await fake.await_for("answerCallbackQuery", after=mark)
        edit = await fake.await_for("editMessageText", after=mark)

    assert answer.ok and answer.params["text"] == "好的" and isinstance(answer.params["callback_query_id"], str)
    assert edit.ok and edit.params["text"] == "again: echo: hi"
    current = fake.get_message(USER, sent["message_id"])
    assert current is not None and current["text"] == "again: echo: hi" and "edit_date" in current
    assert "reply_markup" not in current  # editing without reply_markup drops the keyboard, like Telegram


async def test_inline_query_reaches_handler(fake: FakeTelegram) -> None:
    async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        text = update.inline_query.query
        result = InlineQueryResultArticle("1", f"查: {text}", InputTextMessageContent(text))
        await update.inline_query.answer([result], cache_time=0)

    async with running_app(fake, InlineQueryHandler(on_inline)):
        mark = fake.mark()
        fake.push_inline_query(USER, "质量月")
        call = await fake.await_for("answerInlineQuery", after=mark)

    assert call.ok and call.params["cache_time"] == 0
    assert call.params["results"][0]["type"] == "article"
    assert call.params["results"][0]["input_message_content"]["message_text"] == "质量月"


async def test_document_download_through_get_file(fake: FakeTelegram) -> None:
    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        file = await update.message.document.get_file()
        data = await file.download_as_bytearray()
        await update.message.reply_text(f"{update.message.document.file_name}: {data.decode()}")

    async with running_app(fake, MessageHandler(filters.Document.ALL, on_document)):
        mark = fake.mark()
        fake.push_document(USER, "政策.txt", "质量强国\r\n\x00".encode())
        reply = await fake.await_for("sendMessage", after=mark)

    assert reply.params["text"] == "政策.txt: 质量强国\r\n\x00"
    fetches = [c.method for c in fake.calls[mark:] if c.method in ("getFile", "downloadFile")]
    assert fetches == ["getFile", "downloadFile"]


async def test_multipart_upload_is_decoded(fake: FakeTelegram, bot: Bot) -> None:
    payload = b"\x00\r\nbinary\r\n--"
    message = await bot.send_document(USER, document=payload, filename='报告 "q".bin', caption="<b>附件</b>",
                                      parse_mode=ParseMode.HTML, reply_markup=KEYBOARD)  # fmt: skip
    call = fake.calls[-1]
    assert call.content_type.startswith("multipart/form-data")
    upload = call.params["document"]
    assert isinstance(upload, UploadedFile) and upload.content == payload and upload.filename == '报告 "q".bin'
    assert call.params["chat_id"] == USER and call.params["reply_markup"] == KEYBOARD.to_dict()
    assert message.caption == "附件" and message.document is not None
    assert await (await bot.get_file(message.document.file_id)).download_as_bytearray() == payload


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own RetryAfter.__str__
async def test_retry_after_and_migration(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "flood")
    assert fake.calls[-1].status == 429 and fake.calls[-1].error == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await bot.send_message(USER, "fine again")  # times=1: only the next call failed

    fake.fail_next("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat",
                   migrate_to_chat_id=-1001234, chat_id=-55)  # fmt: skip
    await bot.send_message(USER, "other chats are unaffected")
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-55, "group")
    assert migrated.value.new_chat_id == -1001234


async def test_blocked_chat_is_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block_chat(7)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(7, "hello?")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(7, "typing")
    assert (await bot.send_message(8, "still works")).chat.id == 8
    assert fake.sent_messages(7) == []


async def test_realistic_bad_requests(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br" at byte offset 1'):
        await bot.send_message(USER, "a<br>b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<b>unclosed", parse_mode=ParseMode.HTML)
    message = await bot.send_message(USER, "<b>1 &lt; 2</b>", parse_mode=ParseMode.HTML)
    assert message.text == "1 < 2"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("1 < 2", chat_id=USER, message_id=message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="数" * 30)]])
        await bot.send_message(USER, "too long", reply_markup=long_data)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, " ")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")


async def test_commands_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_my_commands([("start", "开始"), ("help", "帮助")])
    assert fake.calls[-1].params["commands"] == [
        {"command": "start", "description": "开始"},
        {"command": "help", "description": "帮助"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(language_code="en") == ()
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "大写不行")])
    assert await bot.close() and await bot.log_out()
    assert await bot.set_chat_title(-100, "未实现的方法也回答 true")
    assert fake.calls[-1].method == "setChatTitle" and fake.calls[-1].params["chat_id"] == -100


def test_sync_wait_for_and_json_body(fake: FakeTelegram) -> None:
    """A blocking test can drive the fake from a thread; JSON bodies (used by other clients) decode too."""

    def post_later() -> None:
        time.sleep(0.1)
        body = json.dumps({"chat_id": 9, "text": "json", "reply_markup": json.dumps(KEYBOARD.to_dict())}).encode()
        request = urllib.request.Request(
            f"{fake.base_url}/bot{fake.token}/sendMessage", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request) as response:
            assert json.load(response)["ok"]

    mark = fake.mark()
    worker = threading.Thread(target=post_later)
    worker.start()
    call = fake.wait_for("sendMessage", lambda c: c.params["chat_id"] == 9, timeout=5, after=mark)
    worker.join()
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "再问一次"

    with pytest.raises(AssertionError, match=r"no sendMessage call matched within 0\.2s[\s\S]*#\d+ sendMessage"):
        fake.wait_for("sendMessage", lambda c: c.params["chat_id"] == 10, timeout=0.2, after=mark)


async def test_telegram_size_limits_are_enforced(fake: FakeTelegram, bot: Bot) -> None:
    """64 bytes of button data (counted in UTF-8), 4096 characters of text, 1024 of caption."""
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 64)]])
    assert (await bot.send_message(USER, "ok", reply_markup=fits)).text == "ok"
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "no", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("x", callback_data="d" * 65)]]))
    assert len((await bot.send_message(USER, "质" * 4096)).text) == 4096
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(USER, "质" * 4097)
    sent = await bot.send_message(USER, "short")
    with pytest.raises(BadRequest, match=r"(?i)too_long"):
        await bot.edit_message_text("质" * 4097, chat_id=USER, message_id=sent.message_id)
    await bot.send_document(USER, b"x", filename="a.txt", caption="质" * 1024)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(USER, b"x", filename="a.txt", caption="质" * 1025)
