"""Staff commands for broadcasts and reminders: /broadcast with its confirm button, /schedule,
/reminders, /cancel. Roles are checked when each action runs."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable

from telegram import Message, Update
from telegram.error import TelegramError

from bot import strings
from bot.broadcasts.broadcaster import Progress
from bot.confirmations import StoreUnavailable
from bot.people import Role
from bot.reminders.service import ScheduleError

from .handlers import BotContext, press_confirm_button, requires, send
from .jobs import register
from .progress import ProgressMessage
from .render import confirm_keyboard, local, wants_traditional

log = logging.getLogger(__name__)


# --- staff commands ---------------------------------------------------------------------------
@requires(Role.STAFF)
async def on_broadcast(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    traditional = wants_traditional(update)
    text = (message.text or "").partition(" ")[2].strip()
    if not text:
        await send(message, strings.BROADCAST_USAGE, traditional)
        return
    try:
        draft = await context.services.broadcasts.draft(text, user.id, message.chat_id)
    except StoreUnavailable:
        await send(message, strings.SAVE_FAILED, traditional)
        return
    token, count = draft.token, draft.recipients
    markup = confirm_keyboard((strings.BROADCAST_CONFIRM, f"bc:go:{token}"),
                              (strings.BROADCAST_ABORT, f"bc:no:{token}"), traditional)
    head = local(strings.BROADCAST_PREVIEW.format(count=count, text=""), traditional)
    preview = html.escape(head) + html.escape(text)
    await send(message, preview, traditional=False, markup=markup, escape=False)


@requires(Role.STAFF)
async def on_broadcast_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not isinstance(query.message, Message):
        return
    traditional = wants_traditional(update)
    chat_id = query.message.chat_id
    decision = await press_confirm_button(
        query, "bc", traditional, lambda token, go: context.services.broadcasts.decide(token, user.id, go, chat_id),
        strings.BROADCAST_EXPIRED, strings.BROADCAST_NOT_YOURS)
    if decision is None:
        return
    if decision.status == "aborted":
        await _quietly(query.answer())
        if decision.cancelled:
            await _quietly(query.edit_message_text(local(strings.BROADCAST_ABORTED.format(
                id=decision.broadcast_id), traditional)))
        return
    if decision.status == "not_draft":
        await query.answer(local(strings.BROADCAST_NOT_DRAFT.format(id=decision.broadcast_id), traditional),
                           show_alert=True)
        return
    view = ProgressMessage(query.message, traditional)
    context.services.broadcasts.launch(decision.broadcast_id, view)
    await _quietly(query.answer())
    await _quietly(query.edit_message_reply_markup(None))
    await view.open(Progress(decision.broadcast_id, decision.recipients))


async def _quietly(call: Awaitable[object]) -> None:
    """A cosmetic Bot API call (answering a button, removing it): a failure is logged, not raised."""
    try:
        await call
    except TelegramError as error:
        log.info("cosmetic call failed: %s", error.__class__.__name__)


@requires(Role.STAFF)
async def on_schedule(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    service = context.services.reminders
    traditional = wants_traditional(update)
    request = (message.text or "").partition(" ")[2]
    try:
        reminder = await service.schedule_request(request, user.id)
    except ScheduleError as error:
        await send(message, strings.SCHEDULE_ERRORS[error.reason].format(**error.values), traditional)
        return
    except StoreUnavailable:
        await send(message, strings.SAVE_FAILED, traditional)
        return
    register(context.application, service, reminder)
    when = service.when(reminder)
    seconds = re.match(r"\s*\S+\s+\d{1,2}:\d{2}:\d{2}", request) is not None  # confirmed as given
    await send(message, strings.SCHEDULED.format(id=reminder["id"], when=f"{when:%Y-%m-%d %H:%M:%S}" if seconds
                                                 else f"{when:%Y-%m-%d %H:%M}",
                                                 zone=service.tz.key), traditional)


@requires(Role.STAFF)
async def on_reminders(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    service = context.services.reminders

    def line(row: dict) -> str:
        text = row["text"].replace("\n", " ")
        return strings.REMINDER_LINE.format(id=row["id"], when=f"{service.when(row):%Y-%m-%d %H:%M}",
                                            text=text[:40] + ("…" if len(text) > 40 else ""))

    scheduled, missed = await service.listing()
    lines = [strings.REMINDERS_HEAD, *map(line, scheduled)] if scheduled else [strings.REMINDERS_NONE]
    if missed:
        lines += [strings.REMINDERS_MISSED, *map(line, missed[-10:])]
    await send(message, "\n".join(lines), wants_traditional(update))


@requires(Role.STAFF)
async def on_cancel(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    traditional = wants_traditional(update)
    item = (context.args or [""])[0]
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,80}", item):
        await send(message, strings.CANCEL_USAGE, traditional)
        return
    user_id = update.effective_user.id if update.effective_user else None
    if await context.services.reminders.cancel_item(item, user_id):
        for job in context.application.job_queue.get_jobs_by_name(item) if context.application.job_queue else ():
            job.schedule_removal()
        await send(message, strings.CANCELLED.format(id=item), traditional)
    else:
        await send(message, strings.CANCEL_UNKNOWN.format(id=item), traditional)
