"""The Telegram side of issue 16: /stats as a chart, /export, hand-off to a person, block/unblock
notices (my_chat_member), deep links to entries, error alerts to the admin chat, and the HTTP
endpoints (/healthz, /metrics) in polling mode. Thin: read the update, call one service, present."""

from __future__ import annotations

import asyncio
import html
import logging
import re

from sqlalchemy.exc import SQLAlchemyError
from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from bot import strings
from bot.faces.buttons import find_deep_link
from bot.handoff.service import Handoff, TooMany, asks_for_person
from bot.insight.chart import MissingGlyphs, draw
from bot.insight.export import parse_range
from bot.insight.series import WINDOWS, Report, WindowError
from bot.people import Role

from . import handlers
from .handlers import BotContext, requires, send, services_of, who
from .render import MESSAGE_LIMIT, local, source_line, split_message, wants_traditional

log = logging.getLogger(__name__)
DEFAULT_WINDOW = 30


# --- /stats over time ---------------------------------------------------------------------------
def _summary(report: Report) -> str:
    share = f"{report.share:.0%}" if report.share is not None else "—"
    return strings.STATS_WINDOW.format(days=report.days, questions=report.total, answered=report.total_answered,
                                       share=share, up=report.up, down=report.down, waiting=report.handoffs_open,
                                       handled=report.handoffs_answered)


def _window_buttons(traditional: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(local(strings.STATS_WINDOW_BUTTON.format(days=days),
                                                             traditional), callback_data=f"st:{days}")
                                  for days in WINDOWS]])


async def send_chart(message: Message, context: BotContext, days: int, traditional: str) -> None:
    """The chart of the last `days` days with its summary as caption, and the window buttons."""
    report = await context.ops.insight.report_for(days)
    summary = local(_summary(report), traditional)
    try:
        chart = await asyncio.to_thread(draw, report, lambda text: local(text, traditional))
    except MissingGlyphs as error:  # never send boxes: the text summary alone
        log.error("chart not drawn: %s", error)
        await send(message, f"{_summary(report)}\n{strings.STATS_CHART_FAILED}", traditional)
        return
    await message.reply_photo(InputFile(chart.png, filename=f"stats-{days}d.png"), caption=summary[:1024],
                              reply_markup=_window_buttons(traditional))


@requires(Role.STAFF)
async def on_stats(update: Update, context: BotContext) -> None:
    """The lifetime totals as text (as before), the hand-offs waiting, then the 30-day chart."""
    message = update.effective_message
    if message is None:
        return
    traditional = wants_traditional(update)
    await send(message, await handlers.totals_text(context), traditional)
    waiting = await context.ops.handoffs.waiting()
    if waiting:
        await send(message, strings.STATS_HANDOFFS.format(waiting=waiting), traditional)
    await send_chart(message, context, DEFAULT_WINDOW, traditional)


@requires(Role.STAFF)
async def on_stats_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    match = re.fullmatch(r"st:(\d{1,3})", query.data or "")
    if match is None or int(match.group(1)) not in WINDOWS:
        await query.answer(local(strings.BUTTON_EXPIRED, wants_traditional(update)))
        return
    await query.answer()
    await send_chart(query.message, context, int(match.group(1)), wants_traditional(update))


# --- /export --------------------------------------------------------------------------------------
@requires(Role.STAFF)
async def on_export(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    traditional = wants_traditional(update)
    try:
        span = parse_range(list(context.args or []), context.settings.timezone)
    except WindowError:
        await send(message, strings.EXPORT_USAGE, traditional)
        return
    try:
        files = await context.ops.exporter.files_for(span)
    except SQLAlchemyError as error:
        log.error("export failed: %s", error.__class__.__name__)
        await send(message, strings.EXPORT_FAILED, traditional)
        return
    await context.assistant.audit(user.id, "export", span.label)
    await send(message, strings.EXPORT_DONE.format(label=span.label, files=len(files),
                                                   days=context.settings.retention_days), traditional)
    for name, data in files.items():
        await message.reply_document(InputFile(data, filename=name), disable_content_type_detection=True)


# --- hand-off to a person ---------------------------------------------------------------------------
async def _hand_over(message: Message, context: BotContext, user_id: int, question: str, traditional: str) -> None:
    service = context.ops.handoffs
    if not service.enabled or service.staff_chat is None:
        await send(message, strings.HANDOFF_OFF, traditional)
        return
    try:
        handoff = await service.request(user_id, message.chat_id, question)
    except TooMany:
        await send(message, strings.HANDOFF_TOO_MANY, traditional)
        return
    except SQLAlchemyError as error:
        await context.assistant.store_failed(error, "handoff")
        await send(message, strings.SAVE_FAILED, traditional)
        return
    user = (await who(context, [user_id]))[0]
    try:
        forwarded = await context.bot.send_message(service.staff_chat, strings.HANDOFF_STAFF.format(
            id=handoff.id, user=user, question=handoff.question))
    except TelegramError as error:
        log.error("could not forward hand-off %s to the staff chat: %s", handoff.id, error.__class__.__name__)
        await send(message, strings.HANDOFF_FAILED, traditional)
        return
    await service.forwarded(handoff, forwarded.chat_id, forwarded.message_id)
    context.ops.metrics.handoffs.labels("requested").inc()
    await send(message, strings.HANDOFF_SENT.format(id=handoff.id), traditional)


async def on_handoff_text(update: Update, context: BotContext) -> None:
    """"转人工" (alone: the citizen's last question; "转人工：问题" hands over that question)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    traditional = wants_traditional(update)
    _, question = asks_for_person(message.text)
    question = question or await context.ops.handoffs.last_question(user.id) or ""
    if not question:
        await send(message, strings.HANDOFF_NEEDS_QUESTION, traditional)
        return
    await _hand_over(message, context, user.id, question, traditional)


async def on_handoff_button(update: Update, context: BotContext) -> None:
    """The 转人工 button under a "没有找到" reply: hands over the question it answered."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not isinstance(query.message, Message):
        return
    traditional = wants_traditional(update)
    match = re.fullmatch(r"ho:(\d{1,12})", query.data or "")
    question = await context.ops.handoffs.question_of(int(match.group(1)), user.id) if match else None
    if question is None:
        await query.answer(local(strings.BUTTON_EXPIRED, traditional), show_alert=True)
        return
    await query.answer()
    await _hand_over(query.message, context, user.id, question, traditional)



async def on_staff_reply(update: Update, context: BotContext) -> None:
    """A reply in the staff chat to a forwarded hand-off: relayed to the citizen as a person's answer."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    service = context.ops.handoffs
    handoff: Handoff | None = await service.for_reply(message.chat_id, message.reply_to_message.message_id)
    if handoff is None:
        if message.reply_to_message.from_user and message.reply_to_message.from_user.id == context.bot.id:
            await send(message, strings.HANDOFF_NOT_A_HANDOFF, "")
        return
    text = (message.text or message.caption or "").strip()
    if not text:
        await send(message, strings.HANDOFF_TEXT_ONLY, "")
        return
    try:
        head = strings.HANDOFF_ANSWER.format(id=handoff.id, text="")
        pieces = split_message(text, MESSAGE_LIMIT - len(head) - 8)  # the label goes on piece one
        for number, piece in enumerate(pieces):
            await context.bot.send_message(handoff.chat_id, head + piece if number == 0 else piece)
    except Forbidden:
        await send(message, strings.HANDOFF_UNDELIVERABLE.format(id=handoff.id), "")
        return
    await service.replied(handoff, user.id)
    context.ops.metrics.handoffs.labels("answered").inc()
    await send(message, strings.HANDOFF_RELAYED.format(id=handoff.id), "")


# --- the user blocks or unblocks the bot --------------------------------------------------------------
async def on_my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    chat_id = change.chat.id
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        if await context.assistant.chat_blocked(chat_id):
            log.info("chat %s blocked or left the bot: subscription inactive", chat_id)
    elif status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR) and await context.assistant.chat_resumed(chat_id):
        log.info("chat %s unblocked the bot: subscription active again", chat_id)


# --- deep links: t.me/<bot>?start=entry-<id> -------------------------------------------------------
async def open_entry(update: Update, context: BotContext, payload: str) -> bool:
    """Shows the entry a deep link names; False when there is none (the caller welcomes instead)."""
    message = update.effective_message
    entry = find_deep_link(payload, context.assistant.knowledge.snapshot.entries)
    if message is None or entry is None:
        return False
    traditional = wants_traditional(update)
    text = "\n\n".join((
        f"<b>{html.escape(local(entry.title, traditional))}</b>",
        html.escape(local(entry.answer, traditional)),
        source_line(local(entry.source.title, traditional), local(entry.source.origin, traditional),
                    entry.source.date, traditional),
    ))
    await send(message, text, traditional=False, escape=False)
    return True


# --- errors to the admin chat ----------------------------------------------------------------------
def _where(update: object) -> str:
    if not isinstance(update, Update):
        return "job"
    for kind in ("message", "callback_query", "inline_query", "my_chat_member", "edited_message"):
        if getattr(update, kind, None) is not None:
            return kind
    return "update"


async def on_error(update: object, context: BotContext) -> None:
    """The usual handling (log, apology), then counted, and told to the admin chat: the error's kind and
    the kind of update only, at most once per kind per hour."""
    await handlers.on_error(update, context)
    kind = context.error.__class__.__name__ if context.error else "Error"
    context.ops.metrics.error(kind)
    chat = context.settings.admin_chat
    if chat is None or not context.ops.alerts.allow(kind):
        return
    try:
        await context.bot.send_message(chat, strings.ALERT_ERROR.format(kind=kind, where=_where(update)))
    except TelegramError as error:
        log.warning("could not alert the admin chat: %s", error.__class__.__name__)


# --- /healthz and /metrics in polling mode -------------------------------------------------------------
async def start_http(application: Application) -> None:
    """Serves /healthz and /metrics on QBOT_HTTP_PORT unless the webhook server already listens there."""
    from .webhook import WebhookServer

    settings = services_of(application.bot_data).settings
    if settings.http_port is None or application.bot_data.get("http") is not None:
        return
    if settings.webhook_url and settings.http_port == settings.webhook_port:
        return  # the webhook server answers /healthz and /metrics itself
    server = WebhookServer(application, None, "", settings.http_host, settings.http_port)
    await server.start()
    application.bot_data["http"] = server
    log.info("health and metrics on %s:%s", settings.http_host, settings.http_port)


async def stop_http(application: Application) -> None:
    server = application.bot_data.pop("http", None)
    if server is not None:
        await server.stop()
