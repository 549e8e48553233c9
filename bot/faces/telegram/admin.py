"""Admins keep the knowledge current from chat: uploads, /reload, /kb, /rollback, unanswered review,
and a job that reloads when files change on disk. Roles are checked when each action runs."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError
from telegram import File, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot import strings
from bot.curation import (
    MAX_FILE_BYTES,
    Change,
    HistoryRecord,
    KnowledgeManager,
    UploadRefused,
    atomic_write,
    group_similar,
    target_path,
)
from bot.services import EXPIRED, NOT_YOURS, PendingAction, Role, StoreUnavailable, review_payload

from .handlers import TOKEN, BotContext, requires, send
from .handlers import who as describe
from .render import local, wants_traditional

log = logging.getLogger(__name__)
MAX_LISTED_PROBLEMS = 15
DOWNLOAD_TIMEOUT = 60.0


def manager(context: BotContext | ContextTypes.DEFAULT_TYPE) -> KnowledgeManager:
    return context.application.bot_data["curation"]


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
    return "\n".join(listed + ([f"……另有 {more} 个问题"] if more > 0 else []))


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
        path = target_path(name, document.file_size or 0)
    except UploadRefused as refused:
        await send(message, str(refused), traditional)
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
    change = await asyncio.to_thread(manager(context).plan, path, data)
    if not change.ok:
        await send(message, strings.UPLOAD_PROBLEMS.format(name=name, problems=_problems(change.problems)),
                   traditional)
        return
    try:
        token = await context.assistant.propose("upload", update.effective_user.id if update.effective_user else 0,
                                                {"path": change.path, "name": name, "base": change.base}, change.data)
    except StoreUnavailable:
        await send(message, strings.SAVE_FAILED, traditional)
        return
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(local(strings.UPLOAD_CONFIRM, traditional), callback_data=f"up:go:{token}"),
        InlineKeyboardButton(local(strings.UPLOAD_CANCEL, traditional), callback_data=f"up:no:{token}"),
    ]])
    summary = strings.UPLOAD_SUMMARY.format(name=name, replace=strings.UPLOAD_REPLACES if change.replaces else "",
                                            lines="\n".join(_describe(change)))
    await send(message, summary, traditional, markup)


@requires(Role.ADMIN)
async def on_upload_button(update: Update, context: BotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    traditional = wants_traditional(update)
    match = re.fullmatch(rf"up:(go|no):({TOKEN})", query.data or "")
    pending = await context.assistant.take("upload", match.group(2), user.id) if match else EXPIRED
    if not isinstance(pending, PendingAction):
        await query.answer(local(strings.NOT_YOUR_BUTTON if pending == NOT_YOURS else strings.UPLOAD_EXPIRED,
                                 traditional), show_alert=True)
        return
    await query.answer()
    if match.group(1) == "no":
        await query.edit_message_text(local(strings.UPLOAD_CANCELLED, traditional))
        return
    curation = manager(context)
    # The plan is made again from the stored bytes: the pending upload may come from before a restart.
    change = await asyncio.to_thread(curation.plan, pending.payload["path"], pending.data or b"")
    # Applied against the file as it was when the admin saw the summary: if another admin changed it
    # since, apply refuses rather than silently dropping their update.
    change = dataclasses.replace(change, base=pending.payload.get("base", change.base))
    if not change.ok:
        await query.edit_message_text(local(strings.UPLOAD_PROBLEMS.format(
            name=pending.payload.get("name", change.path), problems=_problems(change.problems)), traditional))
        return
    try:
        record = await asyncio.to_thread(curation.apply, change, user.id)
    except (OSError, ValueError) as error:
        await query.edit_message_text(local(strings.UPLOAD_FAILED.format(error=error), traditional))
        return
    await context.assistant.audit(user.id, "upload", change.path, record.summary)
    await publish_change(context, change.path)
    await query.edit_message_text(local(strings.UPLOAD_DONE.format(
        record=record.id, summary=record.summary, version=context.assistant.knowledge.snapshot.version), traditional))


# --- reload, status, rollback -----------------------------------------------------------------
@requires(Role.ADMIN)
async def on_reload(update: Update, context: BotContext) -> None:
    if update.effective_message is None:
        return
    result = await asyncio.to_thread(manager(context).reload)
    version = context.assistant.knowledge.snapshot.version
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
    history = manager(context).history()
    last = (_change_line(history[0], context.settings.timezone,
                         (await describe(context, [history[0].who]))[0] if history[0].who else None)
            if history else strings.KB_NO_CHANGES)
    text = strings.KB_STATUS.format(version=context.assistant.knowledge.snapshot.version, counts=_counts(context),
                                    last=last)
    await send(update.effective_message, text, wants_traditional(update))


@requires(Role.ADMIN)
async def on_rollback(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    traditional = wants_traditional(update)
    last = next((r for r in manager(context).history() if r.action != "rollback" and not r.undone), None)
    if last is None:
        await send(message, strings.ROLLBACK_NOTHING, traditional)
        return
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(local(strings.ROLLBACK_CONFIRM, traditional), callback_data=f"rb:{last.id}"),
        InlineKeyboardButton(local(strings.ROLLBACK_CANCEL, traditional), callback_data="rb:no"),
    ]])
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
    last = next((r for r in manager(context).history() if r.action != "rollback" and not r.undone), None)
    if last is None or last.id != wanted:
        await query.answer(local(strings.ROLLBACK_STALE, traditional), show_alert=True)
        return
    await query.answer()
    record = await asyncio.to_thread(manager(context).rollback, user.id)
    await context.assistant.audit(user.id, "rollback", wanted, record.summary if record else "")
    if record is not None:
        await publish_change(context, record.path)
    await query.edit_message_text(local(strings.ROLLBACK_DONE.format(
        id=last.id, summary=last.summary, version=context.assistant.knowledge.snapshot.version), traditional))


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
        attached = await asyncio.to_thread(manager(context).attach, payload["a"], sample, user.id)
    except (OSError, ValueError) as error:
        await send(query.message, strings.ATTACH_FAILED.format(error=error), traditional)
        return
    await context.assistant.close_unanswered(payload["ids"], "attached", user.id)
    await publish_change(context, attached.path)
    entry = context.assistant.knowledge.entry(payload["a"])
    await send(query.message, strings.ATTACHED.format(question=sample, title=entry.title if entry else payload["a"]),
               traditional)


# --- knowledge changes shared between instances -------------------------------------------------
async def publish_change(context: BotContext | ContextTypes.DEFAULT_TYPE, path: str) -> None:
    """Records the file as it is now on this instance, for the other instances to apply."""
    application = context.application
    folder = manager(context).folder
    store = application.bot_data["assistant"].store

    def record() -> None:
        target = folder / path
        content = target.read_bytes() if target.is_file() else None
        store.knowledge.add(application.bot_data["instance"], path, content)

    try:
        await store.call(record)
    except (OSError, SQLAlchemyError) as error:
        log.error("could not share a knowledge change: %s", error.__class__.__name__)


async def pull_changes(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Applies knowledge changes made through other instances (every QBOT_SYNC_SECONDS, and on
    PostgreSQL as soon as one is notified)."""
    async with context.application.bot_data.setdefault("knowledge_pulling", asyncio.Lock()):
        await _pull(context.application)  # one pull at a time: a poll and a notification may meet


async def _pull(application: Application) -> None:
    store = application.bot_data["assistant"].store
    seen = application.bot_data.get("knowledge_seen", 0)
    changes = await store.call(store.knowledge.since, seen)
    if not changes:
        return
    application.bot_data["knowledge_seen"] = changes[-1].id
    changes = [change for change in changes if change.instance != application.bot_data["instance"]]
    if not changes:
        return
    curation: KnowledgeManager = application.bot_data["curation"]

    def apply() -> None:
        for change in changes:
            if change.path.startswith("/") or ".." in change.path.split("/"):
                continue
            target = curation.folder / change.path
            if change.content is None:
                target.unlink(missing_ok=True)
            else:
                atomic_write(target, change.content)
        curation.reload()

    await asyncio.to_thread(apply)
    log.info("applied %d knowledge change(s) made through other instances", len(changes))


async def start_pulling(application: Application, interval: float) -> None:
    """Changes already in the log at start are in this instance's folder or superseded by it."""
    store = application.bot_data["assistant"].store
    application.bot_data["knowledge_seen"] = await store.call(store.knowledge.last_id)
    if application.job_queue is None:
        return
    application.job_queue.run_repeating(pull_changes, interval=interval, first=interval, name="pull-knowledge",
                                        job_kwargs={"id": "pull-knowledge", "replace_existing": True})
    loop = asyncio.get_running_loop()
    job_queue = application.job_queue

    def notified() -> None:  # on the listener's thread
        loop.call_soon_threadsafe(lambda: job_queue.run_once(pull_changes, 0, name="pull-knowledge-now"))

    application.bot_data["knowledge_listener"] = await store.call(store.listen_for_knowledge, notified)


def stop_listening(application: Application) -> None:
    listener = application.bot_data.pop("knowledge_listener", None)
    if listener is not None:
        listener.stop()


# --- watching the disk ------------------------------------------------------------------------
async def watch_disk(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reloads when knowledge files change on disk; tells admins, and keeps the old knowledge if the
    new files are invalid."""
    curation: KnowledgeManager = context.application.bot_data["curation"]
    # The watcher's flag is all the event loop reads; the folder walk that confirms it runs on a thread.
    if not curation.maybe_changed() or not await asyncio.to_thread(curation.changed_on_disk):
        return
    result = await asyncio.to_thread(curation.reload)
    version = context.application.bot_data["assistant"].knowledge.snapshot.version
    text = (strings.DISK_RELOADED.format(version=version) if result.ok
            else strings.RELOAD_PROBLEMS.format(version=version, problems=_problems(result.problems)))
    log.info("knowledge changed on disk: %s", "reloaded" if result.ok else f"{len(result.problems)} problems")
    await notify_admins(context.application, text)


async def notify_admins(application: Application, text: str) -> None:
    for admin in application.bot_data["settings"].admins:
        try:
            await application.bot.send_message(admin, text)
        except TelegramError as error:
            log.info("could not notify admin %s: %s", admin, error.__class__.__name__)


def start_watching(application: Application, interval: float) -> None:
    if application.job_queue is not None:
        application.bot_data["curation"].watch()
        application.job_queue.run_repeating(watch_disk, interval=interval, first=interval, name="watch-knowledge",
                                            job_kwargs={"id": "watch-knowledge", "replace_existing": True})
