"""The Telegram side of reminders and broadcasts: the sender the core engine is given, staff
commands, and the jobs that fire reminders (registered with fixed ids, so never twice)."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes, ExtBot

from bot import strings
from bot.broadcasts.broadcaster import Blocked, Migrated, Progress, RateLimited, Rejected, Transient
from bot.confirmations import StoreUnavailable
from bot.people import Role
from bot.reminders.service import ReminderService, ScheduleError

from .handlers import TOKEN, BotContext, requires, send, services_of
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


async def reminder_report(application: Application, reminder_id: str) -> ReminderReport | None:
    staff = await services_of(application.bot_data).reminders.creator(reminder_id)
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
    try:
        draft = await context.services.broadcasts.draft(text, user.id, message.chat_id)
    except StoreUnavailable:
        await send(message, strings.SAVE_FAILED, traditional)
        return
    token, count = draft.token, draft.recipients
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
    try:
        decision = await context.services.broadcasts.decide(match.group(2), user.id, match.group(1) == "go",
                                                            query.message.chat_id) if match else None
    except StoreUnavailable:
        await query.answer(local(strings.SAVE_FAILED, traditional), show_alert=True)
        return
    if decision is None or decision.status in ("expired", "not_yours"):
        await query.answer(local(strings.BROADCAST_NOT_YOURS if decision and decision.status == "not_yours"
                                 else strings.BROADCAST_EXPIRED, traditional), show_alert=True)
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


# --- jobs -------------------------------------------------------------------------------------
async def fire_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    services = services_of(application.bot_data)
    reminder_id = str(context.job.data) if context.job else ""
    broadcast_id, added = await services.reminders.fire_due(reminder_id)
    if broadcast_id:
        services.broadcasts.launch(broadcast_id, await reminder_report(application, reminder_id))
    for reminder in added:  # next year's occurrence
        register(application, services.reminders, reminder)


def register(application: Application, service: ReminderService, reminder: dict | None) -> None:
    """One job per reminder, named and identified by the reminder id: registering twice replaces."""
    if reminder is None or application.job_queue is None:
        return
    application.job_queue.run_once(
        fire_job, when=service.when(reminder), data=reminder["id"], name=reminder["id"],
        job_kwargs={"id": reminder["id"], "replace_existing": True,
                    "misfire_grace_time": int(service.grace.total_seconds())},
    )


def follow_knowledge_changes(application: Application, loop: asyncio.AbstractEventLoop) -> None:
    """When new knowledge changes the calendar (an upload, a reload, a file edited on disk), the jobs of
    the revised and added occurrences are registered again. The change is made on a worker thread; the
    job queue belongs to the event loop."""
    service = services_of(application.bot_data).reminders

    def rescheduled(reminders: list[dict]) -> None:
        for reminder in reminders:
            loop.call_soon_threadsafe(register, application, service, reminder)

    service.rescheduled = rescheduled


async def start_reminders(application: Application) -> None:
    """At start: schedule the calendar, fire or record what was missed while down, resume
    interrupted broadcasts, and register a job for every scheduled reminder."""
    services = services_of(application.bot_data)
    follow_knowledge_changes(application, asyncio.get_running_loop())
    started = await services.reminders.start()
    for record in started.unfinished:  # resumed: the staff member who started it still gets the final report
        services.broadcasts.launch(record["id"], FinalReport(application.bot, record.get("report_chat")))
    for broadcast_id in started.fired:  # a staff member's reminder tells them when it has gone out
        services.broadcasts.launch(broadcast_id,
                                   await reminder_report(application, broadcast_id.removeprefix("r-")))
    for reminder in started.scheduled:
        register(application, services.reminders, reminder)


async def sync_instances(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every QBOT_SYNC_SECONDS: take over running broadcasts nobody is sending (their sender died; on
    PostgreSQL the broadcast's advisory lock decides who sends), and register jobs for reminders
    another instance scheduled. Cheap indexed reads; with one instance it finds nothing to do."""
    application = context.application
    services = services_of(application.bot_data)
    running, scheduled = await services.reminders.shared_state()
    for record in running:
        if not services.broadcasts.running(record["id"]):
            services.broadcasts.launch(record["id"], FinalReport(application.bot, record.get("report_chat")))
    known = {job.name for job in application.job_queue.jobs()} if application.job_queue else set()
    for reminder in scheduled:
        if reminder["id"] not in known:
            register(application, services.reminders, reminder)


def start_syncing(application: Application, interval: float) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(sync_instances, interval=interval, first=interval, name="sync-instances",
                                            job_kwargs={"id": "sync-instances", "replace_existing": True})


async def stop_reminders(application: Application) -> None:
    await services_of(application.bot_data).broadcasts.stop()

