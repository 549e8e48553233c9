"""The Telegram side of reminders and broadcasts: the sender the core engine is given, staff
commands, and the jobs that fire reminders (registered with fixed ids, so never twice)."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Awaitable

from sqlalchemy.exc import SQLAlchemyError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes, ExtBot

from bot import strings
from bot.audit import audit
from bot.broadcasts.broadcaster import Blocked, Broadcaster, Migrated, Progress, RateLimited, Rejected, Transient
from bot.reminders.service import ReminderService, ScheduleError
from bot.services import EXPIRED, NOT_YOURS, PendingAction, Role, StoreUnavailable

from .handlers import TOKEN, BotContext, requires, send
from .network import retry_seconds
from .render import local, wants_traditional

log = logging.getLogger(__name__)


class TelegramSender:
    """Maps Bot API outcomes onto the delivery engine's vocabulary."""

    def __init__(self, bot: ExtBot[None]) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str) -> None:
        # The engine paces and retries its own sends: the bot-wide retrying limiter stays out of it.
        extra = {"rate_limit_args": {"retry": False}} if self.bot.rate_limiter is not None else {}
        try:
            await self.bot.send_message(chat_id, text, disable_web_page_preview=True, **extra)
        except RetryAfter as error:
            raise RateLimited(retry_seconds(error)) from error
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
    """For a broadcast resumed after a restart: the final counts go to the chat it was started from."""

    def __init__(self, bot: ExtBot[None], chat_id: int | None) -> None:
        self.bot = bot
        self.chat_id = chat_id

    async def __call__(self, progress: Progress) -> None:
        if progress.done and self.chat_id is not None:
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
    broadcaster: Broadcaster = context.application.bot_data["broadcaster"]
    try:
        broadcast_id, count = await context.assistant.store.call(broadcaster.draft, text, user.id, message.chat_id)
        # The buttons carry a random token that only this staff member can use, for an hour.
        token = await context.assistant.propose("broadcast", user.id, {"id": broadcast_id})
    except (StoreUnavailable, SQLAlchemyError):
        await send(message, strings.SAVE_FAILED, traditional)
        return
    audit("broadcast.drafted", id=broadcast_id, by=user.id, chars=len(text))
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(local(strings.BROADCAST_CONFIRM, traditional), callback_data=f"bc:go:{token}"),
        InlineKeyboardButton(local(strings.BROADCAST_ABORT, traditional), callback_data=f"bc:no:{token}"),
    ]])
    head = local(strings.BROADCAST_PREVIEW.format(count=count, text=""), traditional)
    preview = html.escape(head) + html.escape(text)
    await send(message, preview, traditional=False, markup=markup, escape=False)


@requires(Role.STAFF)
async def on_broadcast_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not isinstance(query.message, Message):
        return
    match = re.fullmatch(rf"bc:(go|no):({TOKEN})", query.data or "")
    traditional = wants_traditional(update)
    assistant = context.assistant
    pending = await assistant.take("broadcast", match.group(2), user.id) if match else EXPIRED
    if not isinstance(pending, PendingAction):
        await query.answer(local(strings.BROADCAST_NOT_YOURS if pending == NOT_YOURS else strings.BROADCAST_EXPIRED,
                                 traditional), show_alert=True)
        return
    broadcast_id = str(pending.payload["id"])
    broadcaster: Broadcaster = context.application.bot_data["broadcaster"]
    if match.group(1) == "no":
        cancelled = await assistant.store.call(broadcaster.cancel, broadcast_id)
        await assistant.audit(user.id, "broadcast-abort", broadcast_id)
        audit("broadcast.cancelled", id=broadcast_id, by=user.id)
        await _quietly(query.answer())
        if cancelled:
            await _quietly(query.edit_message_text(local(strings.BROADCAST_ABORTED.format(id=broadcast_id),
                                                         traditional)))
        return
    # Status change and the recipients' delivery rows in one transaction, before any Telegram call:
    # whatever happens to the calls below (an error, a crash), the broadcast runs or resumes.
    total = await assistant.store.call(broadcaster.start, broadcast_id, query.message.chat_id)
    if total is None:
        await query.answer(local(strings.BROADCAST_NOT_DRAFT.format(id=broadcast_id), traditional), show_alert=True)
        return
    await assistant.audit(user.id, "broadcast-start", broadcast_id, f"{total} recipients")
    audit("broadcast.confirmed", id=broadcast_id, by=user.id, recipients=total)
    view = ProgressMessage(query.message, traditional)
    broadcaster.launch(broadcast_id, view)
    await _quietly(query.answer())
    await _quietly(query.edit_message_reply_markup(None))
    await view.open(Progress(broadcast_id, total))


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
    service: ReminderService = context.application.bot_data["reminders"]
    traditional = wants_traditional(update)
    request = (message.text or "").partition(" ")[2]
    try:
        reminder = await service.store.call(service.schedule, request, user.id, dt.datetime.now(service.tz))
    except ScheduleError as error:
        await send(message, str(error), traditional)
        return
    except SQLAlchemyError as error:
        log.error("could not save a reminder: %s", error.__class__.__name__)
        await context.assistant.store_failed(error, "schedule")
        await send(message, strings.SAVE_FAILED, traditional)
        return
    await context.assistant.audit(user.id, "schedule", reminder["id"], reminder["text"][:200])
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
    service: ReminderService = context.application.bot_data["reminders"]

    def line(row: dict) -> str:
        text = row["text"].replace("\n", " ")
        return strings.REMINDER_LINE.format(id=row["id"], when=f"{service.when(row):%Y-%m-%d %H:%M}",
                                            text=text[:40] + ("…" if len(text) > 40 else ""))

    scheduled, missed = await service.store.call(lambda: (service.scheduled(), service.missed()))
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
    if await service.store.call(service.cancel, item):
        await context.assistant.audit(update.effective_user.id if update.effective_user else None, "cancel", item)
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
    broadcast_id = await service.store.call(service.fire, reminder_id)
    if broadcast_id:
        application.bot_data["broadcaster"].launch(broadcast_id, reminder_report(application, reminder_id))
    added = await service.store.call(lambda: [service.store.reminders.get(key) for key in
                                              service.sync_calendar(dt.datetime.now(service.tz))])
    for reminder in added:  # next year's occurrence
        register(application, service, reminder)


def register(application: Application, service: ReminderService, reminder: dict | None) -> None:
    """One job per reminder, named and identified by the reminder id: registering twice replaces."""
    if reminder is None or application.job_queue is None:
        return
    application.job_queue.run_once(
        fire_job, when=service.when(reminder), data=reminder["id"], name=reminder["id"],
        job_kwargs={"id": reminder["id"], "replace_existing": True,
                    "misfire_grace_time": int(service.grace.total_seconds())},
    )


async def start_reminders(application: Application) -> None:
    """At start: schedule the calendar, fire or record what was missed while down, resume
    interrupted broadcasts, and register a job for every scheduled reminder."""
    service: ReminderService = application.bot_data["reminders"]
    broadcaster: Broadcaster = application.bot_data["broadcaster"]
    store = service.store
    now = dt.datetime.now(service.tz)

    def prepare() -> tuple[list[dict], list[str]]:
        service.sync_calendar(now)
        due = service.due_at_start(now)
        unfinished = [store.broadcasts.get(key) for key in service.unfinished_broadcasts()]
        fired = [key for key in map(service.fire, due.fire_now) if key]
        return [row for row in unfinished if row], fired

    unfinished, fired = await store.call(prepare)
    for record in unfinished:  # resumed: the staff member who started it still gets the final report
        broadcaster.launch(record["id"], FinalReport(application.bot, record.get("report_chat")))
    for broadcast_id in fired:  # a staff member's reminder tells them when it has gone out
        broadcaster.launch(broadcast_id, reminder_report(application, broadcast_id.removeprefix("r-")))
    for reminder in await store.call(service.scheduled):
        register(application, service, reminder)


async def sync_instances(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every QBOT_SYNC_SECONDS: take over running broadcasts nobody is sending (their sender died; on
    PostgreSQL the broadcast's advisory lock decides who sends), and register jobs for reminders
    another instance scheduled. Cheap indexed reads; with one instance it finds nothing to do."""
    application = context.application
    service: ReminderService = application.bot_data["reminders"]
    broadcaster: Broadcaster = application.bot_data["broadcaster"]
    store = service.store
    running, scheduled = await store.call(lambda: (store.broadcasts.with_status("running"), service.scheduled()))
    for record in running:
        if record["id"] not in broadcaster.running:
            broadcaster.launch(record["id"], FinalReport(application.bot, record.get("report_chat")))
    known = {job.name for job in application.job_queue.jobs()} if application.job_queue else set()
    for reminder in scheduled:
        if reminder["id"] not in known:
            register(application, service, reminder)


def start_syncing(application: Application, interval: float) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(sync_instances, interval=interval, first=interval, name="sync-instances",
                                            job_kwargs={"id": "sync-instances", "replace_existing": True})


async def stop_reminders(application: Application) -> None:
    await application.bot_data["broadcaster"].stop()

