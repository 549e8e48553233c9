"""Telegram handlers: read the update, call one core function, send the reply.

Roles are checked when an action runs (commands and buttons alike: callback data can be forged).
"""

from __future__ import annotations

import functools
import html
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken
from telegram.ext import ApplicationHandlerStop, CallbackContext, ExtBot

from bot import strings
from bot.assistant import Assistant, Reply
from bot.audit import audit
from bot.confirmations import EXPIRED, NOT_YOURS, StoreUnavailable
from bot.faces.buttons import entry_data, find_entry
from bot.operations.services import OpsServices
from bot.people import Flood, Role
from bot.services import Services
from bot.settings import Settings

from .network import call_api
from .render import Keyboard, answer_html, answer_keyboard, button, local, source_line, split_message, wants_traditional

log = logging.getLogger(__name__)
PAGE_SIZE = 8
TOKEN = r"[A-Za-z0-9_-]{12}"
Handler = Callable[[Update, "BotContext"], Awaitable[None]]
DecidedT = TypeVar("DecidedT", bound="Decided")
NO_PREVIEW = {"is_disabled": True}


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Typed access to the services `build_services` made (the only thing kept in bot_data)."""

    @property
    def services(self) -> Services:
        return services_of(self.application.bot_data)

    @property
    def assistant(self) -> Assistant:
        return self.services.assistant

    @property
    def settings(self) -> Settings:
        return self.services.settings


    @property
    def ops(self) -> OpsServices:
        """Statistics, exports, hand-offs, metrics and alerts."""
        return self.services.ops


def services_of(bot_data: dict[Any, Any]) -> Services:
    return bot_data["services"]


def reply_target(message: Message) -> dict[str, Any]:
    """Where `Message.reply_text` sends a reply to `message` (the bot sets no Defaults): the chat,
    quoting the message outside private chats, in its forum topic, business connection or direct
    messages topic."""
    target: dict[str, Any] = {"chat_id": message.chat_id}
    if message.chat.type != ChatType.PRIVATE:
        target["reply_parameters"] = {"message_id": message.message_id}
    if message.is_topic_message and message.message_thread_id is not None:
        target["message_thread_id"] = message.message_thread_id
    if message.business_connection_id:
        target["business_connection_id"] = message.business_connection_id
    if message.direct_messages_topic:
        target["direct_messages_topic_id"] = message.direct_messages_topic.topic_id
    return target


async def send(message: Message, text: str, traditional: bool, markup: InlineKeyboardMarkup | Keyboard | None = None,
               escape: bool = True) -> None:
    """Replies in the user's script, split under the size limit; buttons go on the last piece. The
    sent Message is never needed, so the call skips building one (`call_api`)."""
    body = local(text, traditional)
    pieces = split_message(html.escape(body) if escape else body)
    keyboard = markup.to_dict() if isinstance(markup, InlineKeyboardMarkup) else markup
    target = reply_target(message)
    for number, piece in enumerate(pieces):
        last = number == len(pieces) - 1
        await call_api(message.get_bot(), "sendMessage", {
            **target, "text": piece, "parse_mode": ParseMode.HTML.value, "link_preview_options": NO_PREVIEW,
            "reply_markup": keyboard if last else None})


class Decided(Protocol):
    status: str


async def press_confirm_button(query: CallbackQuery, prefix: str, traditional: bool,
                               decide: Callable[[str, bool], Awaitable[DecidedT]], expired: str,
                               not_yours: str) -> DecidedT | None:
    """A confirm or cancel button (`prefix:go:token` / `prefix:no:token`): the service's decision, or
    None once the presser has been told the button is stale, someone else's, or could not be saved."""
    match = re.fullmatch(rf"{prefix}:(go|no):({TOKEN})", query.data or "")
    try:
        decision = await decide(match.group(2), match.group(1) == "go") if match else None
    except StoreUnavailable:
        await query.answer(local(strings.SAVE_FAILED, traditional), show_alert=True)
        return None
    if decision is None or decision.status in ("expired", "not_yours"):
        shown = not_yours if decision is not None and decision.status == "not_yours" else expired
        await query.answer(local(shown, traditional), show_alert=True)
        return None
    return decision


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Refuses, and changes nothing, unless the user has `role` at the moment the action runs."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(update: Update, context: BotContext) -> None:
            user = update.effective_user
            if user is None or not await context.assistant.roles.allows(user.id, role):
                refusal = strings.REFUSED_ADMIN if role is Role.ADMIN else strings.REFUSED_STAFF
                traditional = wants_traditional(update)
                if update.callback_query:
                    await update.callback_query.answer(local(refusal, traditional), show_alert=True)
                elif update.effective_message:
                    await send(update.effective_message, refusal, traditional)
                log.info("refused %s to user %s", handler.__name__, user.id if user else None)
                return
            await handler(update, context)

        return checked

    return wrap


# --- guards -----------------------------------------------------------------------------------
async def flood_guard(update: Update, context: BotContext) -> None:
    """Runs before every other handler: one polite warning, then silence, for a flooding user."""
    user = update.effective_user
    if user is None or user.id in context.assistant.roles.admins:
        return
    verdict = context.assistant.flood.check(user.id)
    if verdict is not Flood.ALLOW and await context.assistant.roles.allows(user.id, Role.STAFF):
        return
    if verdict is Flood.ALLOW:
        return
    if verdict is Flood.WARN:
        log.info("flood limit reached by user %s", user.id)
        if update.callback_query:
            await update.callback_query.answer(local(strings.SLOW_DOWN, wants_traditional(update)))
        elif update.effective_message and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
            await send(update.effective_message, strings.SLOW_DOWN, wants_traditional(update))
    elif update.callback_query:
        await update.callback_query.answer()
    raise ApplicationHandlerStop


async def remember_user(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is not None:
        await context.assistant.seen(user.id, user.full_name or "", user.username or "")


async def guard(update: Update, context: BotContext) -> None:
    """Before every other handler: the flood guard (which stops a flooding user's update here), then
    the user's record. One handler rather than a group each: PTB's dispatch costs per group."""
    await flood_guard(update, context)
    await remember_user(update, context)


async def who(context: BotContext, user_ids: list[int]) -> list[str]:
    """Users as admins read them: name, @username and id (the id alone when never seen)."""
    known = await context.assistant.describe_users(user_ids)

    def one(user_id: int) -> str:
        if user_id not in known:
            return str(user_id)
        name, username = known[user_id]
        parts = [name or strings.UNKNOWN_USER] + ([f"@{username}"] if username else [])
        return f"{' '.join(parts)}（{user_id}）"

    return [one(user_id) for user_id in user_ids]


# --- questions --------------------------------------------------------------------------------
async def answer_question(update: Update, context: BotContext, question: str) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    traditional = wants_traditional(update)
    started = time.monotonic()
    reply = await context.assistant.answer(user.id, question)
    markup = answer_keyboard(reply, traditional)
    if not reply.answer.matched and reply.question_id and context.ops.handoffs.enabled:  # a person can take it
        person = button(local(strings.HANDOFF_BUTTON, traditional), f"ho:{reply.question_id}")
        markup = {"inline_keyboard": [*(markup["inline_keyboard"] if markup else ()), [person]]}
    await send(message, answer_html(reply, traditional), traditional=False, markup=markup, escape=False)
    context.ops.metrics.question(reply.answer.matched, started)


async def on_private_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message and message.text:
        await answer_question(update, context, message.text)


async def on_group_text(update: Update, context: BotContext) -> None:
    """In groups: a mention of the bot or a reply to one of its messages is a question."""
    message = update.effective_message
    if message is None or not message.text:
        return
    username = context.bot.username
    mentioned = bool(username) and f"@{username}".lower() in message.text.lower()
    replied = bool(message.reply_to_message and message.reply_to_message.from_user
                   and message.reply_to_message.from_user.id == context.bot.id)
    if not (mentioned or replied):
        return
    question = re.sub(rf"@{re.escape(username or '')}", "", message.text, flags=re.IGNORECASE).strip()
    await answer_question(update, context, question)


async def on_ask(update: Update, context: BotContext) -> None:
    question = " ".join(context.args or []).strip()
    if not question and update.effective_message:
        await send(update.effective_message, strings.ASK_USAGE, wants_traditional(update))
        return
    await answer_question(update, context, question)


async def on_caption(update: Update, context: BotContext) -> None:
    """A photo (a screenshot of a notice, say) whose caption is the question."""
    message = update.effective_message
    if message and message.caption:
        await answer_question(update, context, message.caption)


async def on_unknown_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message and message.text:
        command = message.text.split(maxsplit=1)[0].split("@", 1)[0][:40]
        await send(message, strings.UNKNOWN_COMMAND.format(command=command), wants_traditional(update))


async def on_not_text(update: Update, context: BotContext) -> None:
    if update.effective_message:
        await send(update.effective_message, strings.NOT_TEXT, wants_traditional(update))


# --- buttons ----------------------------------------------------------------------------------
async def on_suggestion(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    token = (query.data or "").removeprefix("ask:")
    traditional = wants_traditional(update)
    question = await context.assistant.recall("ask", token) if re.fullmatch(TOKEN, token) else None
    if question is None:
        await query.answer(local(strings.BUTTON_EXPIRED, traditional), show_alert=True)
        return
    await query.answer()
    user = update.effective_user
    reply = await context.assistant.answer(user.id if user else 0, question)
    if isinstance(query.message, Message):
        await send(query.message, answer_html(reply, traditional), traditional=False,
                   markup=answer_keyboard(reply, traditional), escape=False)


async def on_vote(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    traditional = wants_traditional(update)
    match = re.fullmatch(r"vote:(\d{1,12}):([01])", query.data or "")
    try:
        counted = bool(match) and await context.assistant.vote(int(match.group(1)), user.id, match.group(2) == "1")
    except StoreUnavailable:
        await query.answer(local(strings.SAVE_FAILED, traditional), show_alert=True)
        return
    if counted is None or match is None:  # an unknown answer id, or someone else's: nothing stored
        await query.answer(local(strings.VOTE_EXPIRED, traditional))
        return
    question_id, helpful, first = int(match.group(1)), match.group(2) == "1", counted
    await query.answer(local(strings.VOTE_THANKS if first else strings.VOTE_ALREADY, traditional))
    message = query.message
    if not isinstance(message, Message):
        return
    if first and message.reply_markup:  # the vote buttons go; suggestion buttons stay
        rows = [row for row in message.reply_markup.inline_keyboard
                if not any((button.callback_data or "").startswith("vote:") for button in row)]
        try:
            await query.edit_message_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
        except BadRequest as error:  # already removed (an old copy of the message pressed)
            log.info("vote buttons not removed: %s", error)
    if first and not helpful:
        choices = [[InlineKeyboardButton(local(reason, traditional), callback_data=f"why:{question_id}:{number}")
                    for number, reason in enumerate(strings.VOTE_REASONS)]]
        await send(message, strings.VOTE_WHY, traditional, InlineKeyboardMarkup(choices))


async def on_vote_reason(update: Update, context: BotContext) -> None:
    """👎's follow-up: what was wrong goes to the admins' unanswered review with the question."""
    query = update.callback_query
    if query is None:
        return
    traditional = wants_traditional(update)
    match = re.fullmatch(r"why:(\d{1,12}):([0-2])", query.data or "")
    user = update.effective_user
    try:
        question = await context.assistant.report(int(match.group(1)), user.id) if match and user else None
    except StoreUnavailable:
        await query.answer(local(strings.SAVE_FAILED, traditional), show_alert=True)
        return
    if match is None or question is None:
        await query.answer(local(strings.VOTE_EXPIRED, traditional))
        return
    await query.answer()
    reason = strings.VOTE_REASONS[int(match.group(2))]
    try:
        await query.edit_message_text(html.escape(local(strings.VOTE_REASON_NOTED.format(
            reason=reason, question=question), traditional)), parse_mode=ParseMode.HTML)
    except BadRequest as error:  # the same choice pressed again on an old copy: already noted
        log.info("vote reason not shown again: %s", error)


async def on_whoami(update: Update, context: BotContext) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    await send(message, strings.WHOAMI.format(id=user.id, name=user.full_name,
                                              username=f"@{user.username}" if user.username else strings.NO_USERNAME),
               wants_traditional(update))


async def on_unknown_button(update: Update, context: BotContext) -> None:
    """Old, foreign or forged button data: a short answer, nothing else happens."""
    if update.callback_query:
        await update.callback_query.answer(local(strings.BUTTON_EXPIRED, wants_traditional(update)))


# --- browsing ---------------------------------------------------------------------------------
def _browse_page(context: BotContext, kind: str, page: int, traditional: bool) -> tuple[str, InlineKeyboardMarkup]:
    entries = context.assistant.knowledge.entries(kind)
    pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    head = strings.BROWSE_HEAD[kind].format(page=page, pages=pages) if entries else strings.BROWSE_EMPTY
    rows = [[InlineKeyboardButton(local(entry.title, traditional)[:60], callback_data=entry_data(entry.id))]
            for entry in shown]
    turns = []
    if page > 1:
        turns.append(InlineKeyboardButton(local(strings.PREVIOUS_PAGE, traditional),
                                          callback_data=f"browse:{kind}:{page - 1}"))
    if page < pages:
        turns.append(InlineKeyboardButton(local(strings.NEXT_PAGE, traditional),
                                          callback_data=f"browse:{kind}:{page + 1}"))
    if turns:
        rows.append(turns)
    return html.escape(local(head, traditional)), InlineKeyboardMarkup(rows)


async def on_policies(update: Update, context: BotContext) -> None:
    await _browse(update, context, "policy")


async def on_events(update: Update, context: BotContext) -> None:
    await _browse(update, context, "event")


async def _browse(update: Update, context: BotContext, kind: str) -> None:
    if update.effective_message:
        text, markup = _browse_page(context, kind, 1, wants_traditional(update))
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def on_browse_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    match = re.fullmatch(r"browse:(policy|event|faq):(\d{1,4})", (query.data if query else "") or "")
    if query is None:
        return
    if not match:
        await query.answer(local(strings.BUTTON_EXPIRED, wants_traditional(update)))
        return
    await query.answer()
    text, markup = _browse_page(context, match.group(1), int(match.group(2)), wants_traditional(update))
    await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def on_entry(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    traditional = wants_traditional(update)
    entry = find_entry(query.data or "", context.assistant.knowledge.snapshot.entries)
    if entry is None or not isinstance(query.message, Message):
        await query.answer(local(strings.BUTTON_EXPIRED, traditional), show_alert=True)
        return
    await query.answer()
    text = "\n\n".join((
        f"<b>{html.escape(local(entry.title, traditional))}</b>",
        html.escape(local(entry.answer, traditional)),
        source_line(local(entry.source.title, traditional), local(entry.source.origin, traditional),
                    entry.source.date, traditional),
    ))
    await send(query.message, text, traditional=False, escape=False)


# --- inline mode ------------------------------------------------------------------------------
async def on_inline(update: Update, context: BotContext) -> None:
    inline = update.inline_query
    user = update.effective_user
    if inline is None or user is None:
        return
    question = inline.query.strip()
    traditional = wants_traditional(update)
    if not question:
        await inline.answer([], cache_time=60)
        return
    reply = await context.assistant.answer(user.id, question, record=False)
    results = []
    candidates = [(question, reply)] if reply.answer.matched else []
    for _, text in reply.suggestions[:4]:
        suggested = await context.assistant.answer(user.id, text, record=False)
        if suggested.answer.matched:
            candidates.append((text, suggested))
    for number, (title, answered) in enumerate(candidates):
        body = answer_html(Reply(answered.answer, 0), traditional)
        results.append(InlineQueryResultArticle(
            id=str(number),
            title=local(title, traditional)[:64],
            description=local(answered.answer.answer, traditional)[:100],
            input_message_content=InputTextMessageContent(body, parse_mode=ParseMode.HTML),
        ))
    await inline.answer(results, cache_time=30, is_personal=False)


# --- subscriptions ----------------------------------------------------------------------------
async def on_subscribe(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None or update.effective_message is None:
        return
    try:
        started = await context.assistant.subscribe(chat.id)
    except StoreUnavailable:
        await send(update.effective_message, strings.SAVE_FAILED, wants_traditional(update))
        return
    await send(update.effective_message, strings.SUBSCRIBED if started else strings.ALREADY_SUBSCRIBED,
               wants_traditional(update))


async def on_unsubscribe(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None or update.effective_message is None:
        return
    try:
        stopped = await context.assistant.unsubscribe(chat.id)
    except StoreUnavailable:
        await send(update.effective_message, strings.SAVE_FAILED, wants_traditional(update))
        return
    await send(update.effective_message, strings.UNSUBSCRIBED if stopped else strings.NOT_SUBSCRIBED,
               wants_traditional(update))


# --- privacy ----------------------------------------------------------------------------------
async def on_privacy(update: Update, context: BotContext) -> None:
    if update.effective_message:
        await send(update.effective_message, strings.PRIVACY.format(days=context.settings.retention_days),
                   wants_traditional(update))


async def on_forget(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    traditional = wants_traditional(update)
    try:
        token = await context.assistant.ask_to_forget(user.id)
    except StoreUnavailable:
        await send(message, strings.SAVE_FAILED, traditional)
        return
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(local(strings.FORGET_CONFIRM, traditional),
                                                         callback_data=f"fg:{token}")]])
    await send(message, strings.FORGET_PROMPT, traditional, markup)


async def on_forget_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    traditional = wants_traditional(update)
    token = (query.data or "").removeprefix("fg:")
    try:
        result = await context.assistant.forget(token, user.id) if re.fullmatch(TOKEN, token) else EXPIRED
    except StoreUnavailable:
        await query.answer(local(strings.SAVE_FAILED, traditional), show_alert=True)
        return
    if isinstance(result, str):
        await query.answer(local(strings.NOT_YOUR_BUTTON if result == NOT_YOURS else strings.FORGET_EXPIRED,
                                 traditional), show_alert=True)
        return
    await query.answer()
    text = strings.FORGET_DONE.format(questions=result.questions, votes=result.votes,
                                      subscription=strings.FORGET_SUBSCRIPTION if result.subscription else "")
    await query.edit_message_text(local(text, traditional))


# --- staff and admins -------------------------------------------------------------------------
@requires(Role.ADMIN)
async def on_staff(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    args = context.args or []
    assistant = context.assistant
    traditional = wants_traditional(update)
    if args == ["list"]:
        ids = await assistant.staff_ids()
        await send(message, strings.STAFF_LIST.format(users="、".join(await who(context, ids))) if ids
                   else strings.STAFF_NONE, traditional)
        return
    if len(args) != 2 or args[0] not in ("add", "remove") or not re.fullmatch(r"\d{1,15}", args[1]):
        await send(message, strings.STAFF_USAGE, traditional)
        return
    target = int(args[1])
    try:
        if args[0] == "add":
            text = strings.STAFF_ADDED if await assistant.add_staff(target, user.id) else strings.STAFF_EXISTS
        else:
            text = strings.STAFF_REMOVED if await assistant.remove_staff(target, user.id) else strings.STAFF_MISSING
    except StoreUnavailable:
        text = strings.SAVE_FAILED
    audit(f"staff.{args[0]}", user=target, by=user.id, changed=text in (strings.STAFF_ADDED, strings.STAFF_REMOVED))
    await send(message, text.format(user=target), traditional)


async def totals_text(context: BotContext) -> str:
    """The lifetime totals /stats opens with, and the most asked unanswered questions."""
    stats = await context.assistant.stats()
    share = f"{stats.answered / stats.questions:.0%}" if stats.questions else "—"
    lines = [strings.STATS.format(questions=stats.questions, answered=stats.answered, share=share, up=stats.up,
                                  down=stats.down, subscribers=stats.subscribers, users=stats.users)]
    if stats.top_unanswered:
        lines.append(strings.STATS_TOP)
        lines.extend(f"{count} × {question}" for question, count in stats.top_unanswered)
    return "\n".join(lines)


# --- errors -----------------------------------------------------------------------------------
async def on_error(update: object, context: BotContext) -> None:
    """Logs the failure (never the message text) and apologises to the user, never a traceback."""
    if isinstance(context.error, Conflict):  # PTB keeps polling with backoff; say why in one line
        log.error(strings.POLLING_CONFLICT)
        return
    if isinstance(context.error, InvalidToken):
        log.error(strings.TOKEN_REVOKED)
    else:
        log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_text(local(strings.APOLOGY, wants_traditional(update)))
        except Exception:  # the apology itself failed (network): nothing more to do
            log.warning("could not send the apology")
