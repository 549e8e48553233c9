"""Admins keep the knowledge current from chat: uploads, /reload, /kb, /rollback, unanswered review,
and a job that reloads when files change on disk. Roles are checked when each action runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from telegram import File, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot import strings
from bot.assistant import review_payload
from bot.confirmations import StoreUnavailable
from bot.curation.folder import Change, HistoryRecord
from bot.curation.review import group_similar
from bot.curation.service import CurationService
from bot.curation.uploads import UploadRefused
from bot.knowledge.loader import MAX_FILE_BYTES
from bot.people import Role

from .handlers import TOKEN, BotContext, press_confirm_button, requires, send, services_of
from .handlers import who as describe
from .render import confirm_keyboard, local, wants_traditional

log = logging.getLogger(__name__)
MAX_LISTED_PROBLEMS = 15
DOWNLOAD_TIMEOUT = 60.0


def curation(context: BotContext | ContextTypes.DEFAULT_TYPE) -> CurationService:
    return services_of(context.application.bot_data).curation


def _counts(context: BotContext) -> str:
    snapshot = context.assistant.knowledge.snapshot
    counts = "，".join(f"{kind} {count}" for kind, count in snapshot.counts().items())
    addresses, kinds = snapshot.source_counts()
    by_kind = "，".join(f"{strings.SOURCE_KIND_NAMES.get(kind, kind)} {count}" for kind, count in kinds.items())
    return f"{counts}\n{strings.KB_SOURCES.format(addresses=addresses, kinds=by_kind)}"


def _describe(change: Change) -> list[str]:
    lines = [strings.UPLOAD_CONVERTED.format(encoding=change.converted_from)] if change.converted_from else []
    if change.article:
        title, date, passages = change.article
        lines.append(strings.UPLOAD_ARTICLE.format(title=title, date=date or strings.UNKNOWN_DATE, passages=passages))
    for template, ids in ((strings.UPLOAD_ADDED, change.added), (strings.UPLOAD_CHANGED, change.changed),
                          (strings.UPLOAD_REMOVED, change.removed)):
        if ids:
            lines.append(template.format(ids="、".join(ids[:20]) + ("…" if len(ids) > 20 else "")))
    return lines if len(lines) > bool(change.converted_from) else [*lines, strings.UPLOAD_NOTHING]


def _problems(problems: Any) -> str:
    listed = [str(problem) for problem in list(problems)[:MAX_LISTED_PROBLEMS]]
    more = len(list(problems)) - len(listed)
    return "\n".join(listed + ([strings.MORE_PROBLEMS.format(more=more)] if more > 0 else []))


# --- upload -----------------------------------------------------------------------------------
async def fetch_upload(get_file: Callable[[], Awaitable[File]], limit: int,
                       proxy: str | None = None) -> bytes | None:
    """An uploaded document's bytes, or None when it is larger than `limit`."""
    try:
        file = await get_file()
    except BadRequest as error:  # Telegram refuses getFile over 20 MB
        if "too big" in str(error).lower():
            return None
        raise
    if file.file_size and file.file_size > limit:
        return None
    return await download_limited(file.file_path or "", limit, proxy)


async def download_limited(url: str, limit: int, proxy: str | None = None) -> bytes | None:
    """The file at `url`, or None as soon as more than `limit` bytes have arrived. Streamed: a document
    may come without a declared size, and reading it whole first would hold up to 50 MB in memory."""
    received = bytearray()
    client = httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, proxy=proxy)
    async with client, client.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            received += chunk
            if len(received) > limit:
                return None  # leaving the block closes the connection: the rest is never read
    return bytes(received)


@requires(Role.ADMIN)
async def on_document(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.document is None:
        return
    traditional = wants_traditional(update)
    document = message.document
    name = document.file_name or ""
    try:
        path = curation(context).target(name, document.file_size or 0)
    except UploadRefused as refused:
        await send(message, strings.upload_refused(refused.reason, refused.values), traditional)
        return
    try:
        data = await fetch_upload(document.get_file, MAX_FILE_BYTES, context.settings.proxy)
    except httpx.HTTPError as error:  # its text holds the download URL, token included: name the class only
        log.warning("upload download failed: %s", error.__class__.__name__)
        await send(message, strings.UPLOAD_DOWNLOAD_FAILED, traditional)
        return
    if data is None:  # the size Telegram announced was missing or wrong
        await send(message, strings.UPLOAD_TOO_BIG.format(limit=MAX_FILE_BYTES), traditional)
        return
    user_id = update.effective_user.id if update.effective_user else 0
    try:
        proposal = await curation(context).propose_upload(user_id, name, path, data)
    except StoreUnavailable:
        await send(message, strings.SAVE_FAILED, traditional)
        return
    change, token = proposal.change, proposal.token
    if token is None:
        await send(message, strings.UPLOAD_PROBLEMS.format(name=name, problems=_problems(change.problems)),
                   traditional)
        return
    markup = confirm_keyboard((strings.UPLOAD_CONFIRM, f"up:go:{token}"), (strings.UPLOAD_CANCEL, f"up:no:{token}"),
                              traditional)
    summary = strings.UPLOAD_SUMMARY.format(name=name, replace=strings.UPLOAD_REPLACES if change.replaces else "",
                                            lines="\n".join(_describe(change)))
    await send(message, summary, traditional, markup)


@requires(Role.ADMIN)
async def on_upload_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    traditional = wants_traditional(update)
    outcome = await press_confirm_button(
        query, "up", traditional, lambda token, go: curation(context).confirm_upload(token, user.id, go),
        strings.UPLOAD_EXPIRED, strings.NOT_YOUR_BUTTON)
    if outcome is None:
        return
    await query.answer()
    if outcome.status == "cancelled":
        text = strings.UPLOAD_CANCELLED
    elif outcome.status == "problems" and outcome.change is not None:
        text = strings.UPLOAD_PROBLEMS.format(name=outcome.name, problems=_problems(outcome.change.problems))
    elif outcome.status == "stale":
        text = strings.UPLOAD_FAILED.format(error=strings.FILE_CHANGED_SINCE_PLAN)
    elif outcome.status == "failed":
        text = strings.UPLOAD_FAILED.format(error=outcome.error)
    else:
        assert outcome.record is not None
        text = strings.UPLOAD_DONE.format(record=outcome.record.id, summary=outcome.record.summary,
                                          version=curation(context).version)
    await query.edit_message_text(local(text, traditional))


# --- reload, status, rollback -----------------------------------------------------------------
@requires(Role.ADMIN)
async def on_reload(update: Update, context: BotContext) -> None:
    if update.effective_message is None:
        return
    result = await curation(context).reload()
    version = curation(context).version
    text = (strings.RELOADED.format(version=version, counts=_counts(context)) if result.ok
            else strings.RELOAD_PROBLEMS.format(version=version, problems=_problems(result.problems)))
    await send(update.effective_message, text, wants_traditional(update))


def _change_line(record: HistoryRecord, tz: Any, who: str | None = None) -> str:
    when = dt.datetime.fromtimestamp(record.when, tz)
    return strings.KB_CHANGE.format(id=record.id, when=f"{when:%Y-%m-%d %H:%M}", who=who or record.who or "—",
                                    action=strings.KB_ACTIONS.get(record.action, record.action),
                                    summary=record.summary)


@requires(Role.ADMIN)
async def on_kb(update: Update, context: BotContext) -> None:
    if update.effective_message is None:
        return
    history = await curation(context).history()
    last = (_change_line(history[0], context.settings.timezone,
                         (await describe(context, [history[0].who]))[0] if history[0].who else None)
            if history else strings.KB_NO_CHANGES)
    text = strings.KB_STATUS.format(version=curation(context).version, counts=_counts(context),
                                    last=last)
    await send(update.effective_message, text, wants_traditional(update))


@requires(Role.ADMIN)
async def on_rollback(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    traditional = wants_traditional(update)
    last = await curation(context).last_undoable()
    if last is None:
        await send(message, strings.ROLLBACK_NOTHING, traditional)
        return
    markup = confirm_keyboard((strings.ROLLBACK_CONFIRM, f"rb:{last.id}"), (strings.ROLLBACK_CANCEL, "rb:no"),
                              traditional)
    await send(message, strings.ROLLBACK_PROMPT.format(id=last.id, summary=last.summary), traditional, markup)


@requires(Role.ADMIN)
async def on_rollback_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    traditional = wants_traditional(update)
    wanted = (query.data or "").removeprefix("rb:")
    if wanted == "no":
        await query.answer()
        await query.edit_message_text(local(strings.UPLOAD_CANCELLED, traditional))
        return
    last = await curation(context).rollback(wanted, user.id)
    if last is None:
        await query.answer(local(strings.ROLLBACK_STALE, traditional), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(local(strings.ROLLBACK_DONE.format(
        id=last.id, summary=last.summary, version=curation(context).version), traditional))


# --- unanswered review ------------------------------------------------------------------------
@requires(Role.ADMIN)
async def on_unanswered(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    traditional = wants_traditional(update)
    groups = group_similar(await context.assistant.unanswered(limit=100))[:8]
    if not groups:
        await send(message, strings.UNANSWERED_NONE, traditional)
        return
    lines = [strings.UNANSWERED_HEAD]
    labels: list[str] = []
    payloads: list[str] = []
    engine = context.assistant.knowledge.engine
    for number, group in enumerate(groups, start=1):
        lines.append(strings.UNANSWERED_GROUP.format(number=number, sample=group["sample"], count=group["count"]))
        for entry_id, title in engine.guesses(group["sample"]):
            labels.append(strings.ATTACH_TO.format(number=number, title=title)[:60])
            payloads.append(review_payload(entry_id, group["ids"]))
        labels.append(strings.DISMISS.format(number=number))
        payloads.append(review_payload(None, group["ids"]))
    tokens = await context.assistant.buttons("ua", payloads)
    rows = [[InlineKeyboardButton(local(label, traditional), callback_data=f"ua:{token}")]
            for label, token in zip(labels, tokens, strict=True)]
    lines.append(strings.UNANSWERED_HINT)
    await send(message, "\n".join(lines), traditional, InlineKeyboardMarkup(rows))


@requires(Role.ADMIN)
async def on_unanswered_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not isinstance(query.message, Message):
        return
    traditional = wants_traditional(update)
    token = (query.data or "").removeprefix("ua:")
    raw = await context.assistant.recall("ua", token) if re.fullmatch(TOKEN, token) else None
    payload = json.loads(raw) if raw else None
    sample = await context.assistant.unanswered_sample(payload["ids"]) if payload else None
    if payload is None or sample is None:
        await query.answer(local(strings.BUTTON_EXPIRED, traditional), show_alert=True)
        return
    await query.answer()
    if payload["a"] is None:
        await context.assistant.close_unanswered(payload["ids"], "dismissed", user.id)
        await send(query.message, strings.DISMISSED.format(question=sample), traditional)
        return
    try:
        await curation(context).attach(payload["a"], sample, user.id)
    except (OSError, ValueError) as error:
        await send(query.message, strings.ATTACH_FAILED.format(error=error), traditional)
        return
    await context.assistant.close_unanswered(payload["ids"], "attached", user.id)
    entry = context.assistant.knowledge.entry(payload["a"])
    await send(query.message, strings.ATTACHED.format(question=sample, title=entry.title if entry else payload["a"]),
               traditional)


# --- knowledge changes shared between instances -------------------------------------------------
async def pull_changes(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Applies knowledge changes made through other instances (every QBOT_SYNC_SECONDS, and on
    PostgreSQL as soon as one is notified)."""
    await curation(context).pull()


async def start_pulling(application: Application, interval: float) -> None:
    service = services_of(application.bot_data).curation
    await service.start_sharing()
    if application.job_queue is None:
        return
    application.job_queue.run_repeating(pull_changes, interval=interval, first=interval, name="pull-knowledge",
                                        job_kwargs={"id": "pull-knowledge", "replace_existing": True})
    loop = asyncio.get_running_loop()
    job_queue = application.job_queue

    def notified() -> None:  # on the listener's thread
        loop.call_soon_threadsafe(lambda: job_queue.run_once(pull_changes, 0, name="pull-knowledge-now"))

    await service.listen(notified)


# --- watching the disk ------------------------------------------------------------------------
async def watch_disk(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reloads when knowledge files change on disk; tells admins, and keeps the old knowledge if the
    new files are invalid."""
    service = curation(context)
    result = await service.reload_if_changed_on_disk()
    if result is None:
        return
    version = service.version
    text = (strings.DISK_RELOADED.format(version=version) if result.ok
            else strings.RELOAD_PROBLEMS.format(version=version, problems=_problems(result.problems)))
    log.info("knowledge changed on disk: %s", "reloaded" if result.ok else f"{len(result.problems)} problems")
    await notify_admins(context.application, text)


async def notify_admins(application: Application, text: str) -> None:
    for admin in services_of(application.bot_data).settings.admins:
        try:
            await application.bot.send_message(admin, text)
        except TelegramError as error:
            log.info("could not notify admin %s: %s", admin, error.__class__.__name__)


def start_watching(application: Application, interval: float) -> None:
    if application.job_queue is not None:
        services_of(application.bot_data).curation.watch()
        application.job_queue.run_repeating(watch_disk, interval=interval, first=interval, name="watch-knowledge",
                                            job_kwargs={"id": "watch-knowledge", "replace_existing": True})
