"""The Telegram side of reminders and broadcasts: the sender the core engine is given, staff
commands, and the jobs that fire reminders (registered with fixed ids, so never twice)."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes, ExtBot

from bot import strings
from bot.audit import audit
from bot.reminders.broadcast import Blocked, Broadcaster, Migrated, Progress, RateLimited, Rejected, Transient
from bot.reminders.service import ReminderService, ScheduleError
from bot.services import Role

from .handlers import BotContext, requires, send
from .render import local, wants_traditional

log = logging.getLogger(__name__)


class TelegramSender:
    """Maps Bot API outcomes onto the delivery engine's vocabulary."""

    def __init__(self, bot: ExtBot[None]) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str) -> None:
        try:
            await self.bot.send_message(chat_id, text, disable_web_page_preview=True)
        except RetryAfter as error:
            retry = error.retry_after
            raise RateLimited(retry.total_seconds() if isinstance(retry, dt.timedelta) else float(retry)) from error
        except ChatMigrated as error:
            raise Migrated(error.new_chat_id) from error
        except Forbidden as error:
            raise Blocked(str(error)) from error
        except BadRequest as error:
            if "chat not found" in str(error).lower() or "deactivated" in str(error).lower():
                raise Blocked(str(error)) from error
            raise Rejected(str(error)) from error
        except (TimedOut, NetworkError) as error:
            raise Transient(str(error)) from error


def _progress_text(progress: Progress) -> str:
    values = {"id": progress.broadcast_id, "handled": progress.handled, "total": progress.total,
              "sent": progress.sent, "blocked": progress.blocked, "failed": progress.failed}
    if progress.done:
        template = strings.BROADCAST_CANCELLED if progress.cancelled else strings.BROADCAST_DONE
        return template.format(**values)
    return strings.BROADCAST_PROGRESS.format(**values)


class ProgressMessage:
    """One message showing a broadcast's progress, edited as delivery goes on. Best effort: when it
    cannot be sent (a 429, say) the broadcast goes on and a later report tries again."""

    def __init__(self, anchor: Message, traditional: bool) -> None:
        self.anchor = anchor
        self.traditional = traditional
        self.message: Message | None = None

    async def open(self, progress: Progress) -> None:
        try:
            await self(progress)
        except TelegramError as error:
            log.warning("could not show broadcast progress: %s", error.__class__.__name__)

    async def __call__(self, progress: Progress) -> None:
        text = local(_progress_text(progress), self.traditional)
        if self.message is None:
            self.message = await self.anchor.reply_text(text)
            return
        try:
            await self.message.edit_text(text)
        except BadRequest as error:  # "message is not modified" and the like
            log.info("progress edit skipped: %s", error)


class FinalReport:
    """For a broadcast resumed after a restart: its progress message belongs to the dead process, so the
    staff member who confirmed it gets the final counts as a new message."""

    def __init__(self, bot: ExtBot[None], chat_id: int) -> None:
        self.bot = bot
        self.chat_id = chat_id

    async def __call__(self, progress: Progress) -> None:
        if progress.done:
            await self.bot.send_message(self.chat_id, _progress_text(progress))


class ReminderReport:
    """Tells the staff member who scheduled a reminder that it has gone out, with the counts."""

    def __init__(self, bot: ExtBot[None], chat_id: int, reminder_id: str) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.reminder_id = reminder_id

    async def __call__(self, progress: Progress) -> None:
        if progress.done and not progress.cancelled:
            try:
                await self.bot.send_message(self.chat_id, strings.REMINDER_SENT.format(
                    id=self.reminder_id, sent=progress.sent, blocked=progress.blocked, failed=progress.failed,
                    total=progress.total))
            except TelegramError as error:
                log.info("could not tell %s that reminder %s went out: %s", self.chat_id, self.reminder_id,
                         error.__class__.__name__)


def reminder_report(application: Application, reminder_id: str) -> ReminderReport | None:
    reminder = application.bot_data["reminders"].store.reminders.get(reminder_id) or {}
    staff = reminder.get("created_by")
    return ReminderReport(application.bot, staff, reminder_id) if staff else None


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
    store = context.assistant.store
    broadcast_id = f"b{store.broadcasts.next_number()}"
    while not store.broadcasts.create(broadcast_id, text, user.id):
        broadcast_id = f"b{int(broadcast_id[1:]) + 1}"
    audit("broadcast.drafted", id=broadcast_id, by=user.id, chars=len(text))
    count = len(store.subscriptions.active_ids())
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(local(strings.BROADCAST_CONFIRM, traditional), callback_data=f"bc:go:{broadcast_id}"),
        InlineKeyboardButton(local(strings.BROADCAST_ABORT, traditional), callback_data=f"bc:no:{broadcast_id}"),
    ]])
    head = local(strings.BROADCAST_PREVIEW.format(count=count, text=""), traditional)
    preview = html.escape(head) + html.escape(text)
    await send(message, preview, traditional=False, markup=markup, escape=False)


@requires(Role.STAFF)
async def on_broadcast_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    match = re.fullmatch(r"bc:(go|no):(b\d{1,9})", (query.data if query else "") or "")
    if query is None or not isinstance(query.message, Message):
        return
    traditional = wants_traditional(update)
    store = context.assistant.store
    record = store.broadcasts.get(match.group(2)) if match else None
    if match is None or record is None or record["status"] != "draft":
        await query.answer(local(strings.BROADCAST_NOT_DRAFT.format(id=match.group(2) if match else "?"),
                                 traditional), show_alert=True)
        return
    broadcast_id = match.group(2)
    if match.group(1) == "no":
        store.broadcasts.update(broadcast_id, status="cancelled")
        audit("broadcast.cancelled", id=broadcast_id, by=query.from_user.id)
        await query.answer()
        await query.edit_message_text(local(strings.BROADCAST_ABORTED.format(id=broadcast_id), traditional))
        return
    # Compare-and-set from draft: a double press (or two staff at once) starts it once.
    if not store.broadcasts.update_if(broadcast_id, "draft", status="confirmed"):
        await query.answer(local(strings.BROADCAST_NOT_DRAFT.format(id=broadcast_id), traditional), show_alert=True)
        return
    audit("broadcast.confirmed", id=broadcast_id, by=query.from_user.id, draft_by=record.get("created_by"))
    await query.answer()
    await query.edit_message_reply_markup(None)
    broadcaster: Broadcaster = context.application.bot_data["broadcaster"]
    total = broadcaster.start(broadcast_id)
    view = ProgressMessage(query.message, traditional)
    await view.open(Progress(broadcast_id, total))
    broadcaster.launch(broadcast_id, view)


@requires(Role.STAFF)
async def on_schedule(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    service: ReminderService = context.application.bot_data["reminders"]
    traditional = wants_traditional(update)
    request = (message.text or "").partition(" ")[2]
    try:
        reminder = service.schedule(request, user.id, dt.datetime.now(service.tz))
    except ScheduleError as error:
        await send(message, str(error), traditional)
        return
    register(context.application, service, reminder["id"])
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
    service: ReminderService = context.application.bot_data["reminders"]

    def line(row: dict) -> str:
        text = row["text"].replace("\n", " ")
        return strings.REMINDER_LINE.format(id=row["id"], when=f"{service.when(row):%Y-%m-%d %H:%M}",
                                            text=text[:40] + ("…" if len(text) > 40 else ""))

    scheduled, missed = service.scheduled(), service.missed()
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
    service: ReminderService = context.application.bot_data["reminders"]
    if service.cancel(item):
        audit("cancelled", id=item, by=update.effective_user.id if update.effective_user else None)
        for job in context.application.job_queue.get_jobs_by_name(item) if context.application.job_queue else ():
            job.schedule_removal()
        await send(message, strings.CANCELLED.format(id=item), traditional)
    else:
        await send(message, strings.CANCEL_UNKNOWN.format(id=item), traditional)


# --- jobs -------------------------------------------------------------------------------------
async def fire_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    service: ReminderService = application.bot_data["reminders"]
    reminder_id = str(context.job.data) if context.job else ""
    broadcast_id = service.fire(reminder_id)
    if broadcast_id:
        application.bot_data["broadcaster"].launch(broadcast_id, reminder_report(application, reminder_id))
    for added in service.sync_calendar(dt.datetime.now(service.tz)):  # next year's occurrence
        register(application, service, added)


def register(application: Application, service: ReminderService, reminder_id: str) -> None:
    """One job per reminder, named and identified by the reminder id: registering twice replaces."""
    reminder = service.store.reminders.get(reminder_id)
    if reminder is None or application.job_queue is None:
        return
    application.job_queue.run_once(
        fire_job, when=service.when(reminder), data=reminder_id, name=reminder_id,
        job_kwargs={"id": reminder_id, "replace_existing": True,
                    "misfire_grace_time": int(service.grace.total_seconds())},
    )


async def start_reminders(application: Application) -> None:
    """At start: schedule the calendar, fire or record what was missed while down, resume
    interrupted broadcasts, and register a job for every scheduled reminder."""
    service: ReminderService = application.bot_data["reminders"]
    broadcaster: Broadcaster = application.bot_data["broadcaster"]
    now = dt.datetime.now(service.tz)
    service.sync_calendar(now)
    due = service.due_at_start(now)
    for broadcast_id in service.unfinished_broadcasts():
        record = service.store.broadcasts.get(broadcast_id) or {}
        staff = record.get("created_by")  # None for a reminder: nobody is waiting for its report
        broadcaster.launch(broadcast_id, FinalReport(application.bot, staff) if staff else None)
        log.info("broadcast %s resumed after a restart", broadcast_id)
    for reminder_id in due.fire_now:
        broadcast_id = service.fire(reminder_id)
        if broadcast_id:
            broadcaster.launch(broadcast_id, reminder_report(application, reminder_id))
    for reminder in service.scheduled():
        register(application, service, reminder["id"])


async def stop_reminders(application: Application) -> None:
    await application.bot_data["broadcaster"].stop()

