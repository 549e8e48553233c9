"""Application wiring: the command table, the one ordered routing table, start-up and polling."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import strings
from bot.curation import KnowledgeManager
from bot.reminders.broadcast import Broadcaster
from bot.reminders.service import ReminderService
from bot.services import Assistant, Role
from bot.settings import Settings

from . import admin, delivery, handlers
from .handlers import BotContext, Handler, send
from .render import local, wants_traditional

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    role: Role
    handler: Handler


async def on_start(update: Update, context: BotContext) -> None:
    if update.effective_message is None:
        return
    traditional = wants_traditional(update)
    book = context.assistant.suggestions
    rows = [[InlineKeyboardButton(local(text, traditional), callback_data=f"ask:{book.remember(text)}")]
            for text in strings.DEFAULT_SUGGESTIONS]
    await send(update.effective_message, strings.WELCOME, traditional, InlineKeyboardMarkup(rows))


async def on_help(update: Update, context: BotContext) -> None:
    """Built from the command table: each user sees the commands of their role and below."""
    user = update.effective_user
    if update.effective_message is None or user is None:
        return
    role = context.assistant.roles.of(user.id)
    lines = [strings.HELP_HEAD]
    for level in Role:
        if level > role:
            break
        shown = [command for command in COMMANDS if command.role is level]
        if shown and strings.ROLE_HEADS[level]:
            lines.append(strings.ROLE_HEADS[level])
        lines.extend(f"/{command.name} — {command.description}" for command in shown)
    lines.append(strings.HELP_TAIL)
    await send(update.effective_message, "\n".join(lines), wants_traditional(update))


COMMANDS: tuple[Command, ...] = (
    Command("start", strings.CMD_START, Role.CITIZEN, on_start),
    Command("help", strings.CMD_HELP, Role.CITIZEN, on_help),
    Command("ask", strings.CMD_ASK, Role.CITIZEN, handlers.on_ask),
    Command("policies", strings.CMD_POLICIES, Role.CITIZEN, handlers.on_policies),
    Command("events", strings.CMD_EVENTS, Role.CITIZEN, handlers.on_events),
    Command("subscribe", strings.CMD_SUBSCRIBE, Role.CITIZEN, handlers.on_subscribe),
    Command("unsubscribe", strings.CMD_UNSUBSCRIBE, Role.CITIZEN, handlers.on_unsubscribe),
    Command("stats", strings.CMD_STATS, Role.STAFF, handlers.on_stats),
    Command("broadcast", strings.CMD_BROADCAST, Role.STAFF, delivery.on_broadcast),
    Command("schedule", strings.CMD_SCHEDULE, Role.STAFF, delivery.on_schedule),
    Command("reminders", strings.CMD_REMINDERS, Role.STAFF, delivery.on_reminders),
    Command("cancel", strings.CMD_CANCEL, Role.STAFF, delivery.on_cancel),
    Command("staff", strings.CMD_STAFF, Role.ADMIN, handlers.on_staff),
    Command("unanswered", strings.CMD_UNANSWERED, Role.ADMIN, admin.on_unanswered),
    Command("kb", strings.CMD_KB, Role.ADMIN, admin.on_kb),
    Command("reload", strings.CMD_RELOAD, Role.ADMIN, admin.on_reload),
    Command("rollback", strings.CMD_ROLLBACK, Role.ADMIN, admin.on_rollback),
)


def routing_table() -> list[tuple[int, BaseHandler]]:
    """Every handler, in the order they are tried: (group, handler). Group -1 runs first for all
    updates; within group 0 the first matching handler wins."""
    private_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    group_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS
    return [
        (-2, TypeHandler(Update, handlers.flood_guard)),
        (-1, TypeHandler(Update, handlers.remember_user)),
        *((0, CommandHandler(command.name, command.handler)) for command in COMMANDS),
        (0, CallbackQueryHandler(handlers.on_suggestion, pattern=r"^ask:")),
        (0, CallbackQueryHandler(handlers.on_vote, pattern=r"^vote:")),
        (0, CallbackQueryHandler(handlers.on_browse_page, pattern=r"^browse:")),
        (0, CallbackQueryHandler(handlers.on_entry, pattern=r"^entry:")),
        (0, CallbackQueryHandler(delivery.on_broadcast_button, pattern=r"^bc:")),
        (0, CallbackQueryHandler(admin.on_upload_button, pattern=r"^up:")),
        (0, CallbackQueryHandler(admin.on_rollback_button, pattern=r"^rb:")),
        (0, CallbackQueryHandler(admin.on_unanswered_button, pattern=r"^ua:")),
        (0, CallbackQueryHandler(handlers.on_unknown_button)),
        (0, InlineQueryHandler(handlers.on_inline)),
        (0, MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
                           admin.on_document)),
        (0, MessageHandler(private_text & filters.UpdateType.MESSAGE, handlers.on_private_text)),
        (0, MessageHandler(group_text & filters.UpdateType.MESSAGE, handlers.on_group_text)),
        (0, MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT,
                           handlers.on_not_text)),
    ]


async def on_start_up(application: Application) -> None:
    application.bot_data["started"] = True  # the token was accepted
    await publish_commands(application)
    await delivery.start_reminders(application)
    admin.start_watching(application, application.bot_data["settings"].watch_seconds)


async def publish_commands(application: Application) -> None:
    """setMyCommands: citizens' commands for everyone; admins also get theirs in their own chats."""
    bot = application.bot
    citizen = [BotCommand(c.name, c.description) for c in COMMANDS if c.role is Role.CITIZEN]
    await bot.set_my_commands(citizen)
    settings: Settings = application.bot_data["settings"]
    everything = [BotCommand(c.name, c.description[:256]) for c in COMMANDS]
    for admin_id in settings.admins:
        try:
            await bot.set_my_commands(everything, scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:  # the admin has not opened a chat with the bot yet
            log.info("could not set admin commands for %s: %s", admin_id, error.__class__.__name__)


async def on_shut_down(application: Application) -> None:
    await delivery.stop_reminders(application)
    if (curation := application.bot_data.get("curation")) is not None:
        await asyncio.to_thread(curation.stop_watching)


def build_application(settings: Settings, assistant: Assistant, request: BaseRequest | None = None) -> Application:
    """The wired application. `request` replaces the HTTP layer in offline handler tests."""
    builder = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .context_types(ContextTypes(context=BotContext))
        .post_init(on_start_up)
        .post_shutdown(on_shut_down)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    application.bot_data["assistant"] = assistant
    application.bot_data["settings"] = settings
    store = assistant.store
    broadcaster = Broadcaster(store, delivery.TelegramSender(application.bot), settings.data_dir / "broadcasts",
                              rate=settings.broadcast_rate)
    application.bot_data["broadcaster"] = broadcaster
    knowledge = assistant.knowledge
    application.bot_data["curation"] = KnowledgeManager(settings.knowledge_dir, lambda: knowledge.snapshot,
                                                        knowledge.replace)
    application.bot_data["reminders"] = ReminderService(
        store, broadcaster, settings.timezone, settings.misfire_grace,
        calendar=lambda: assistant.knowledge.engine.snapshot.calendar,
    )
    for group, handler in routing_table():
        application.add_handler(handler, group=group)
    application.add_error_handler(handlers.on_error)
    return application


class _DropTokenTracebacks(logging.Filter):
    """PTB logs a rejected token with a traceback (whose message holds the token at start-up). At start
    run_polling reports it in one line, so the record is dropped; later (a 401 on getUpdates) it
    becomes that one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, InvalidToken):
            return True
        if "rejected by the server" in str(error):
            return False
        record.msg, record.args, record.exc_info, record.exc_text = strings.TOKEN_REVOKED, (), None, None
        return True


def run_polling(settings: Settings, assistant: Assistant) -> int:
    """Polls until stopped; returns the exit code. A rejected token is one line, never a traceback:
    PTB's InvalidToken message contains the token itself."""
    application = build_application(settings, assistant)
    for name in ("telegram.ext", "telegram.ext.Updater", "telegram.ext.Application"):
        logging.getLogger(name).addFilter(_DropTokenTracebacks())
    log.info("starting long polling against %s", settings.api_url)
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:  # at start, or a 401 on getUpdates later (PTB then stops polling for good)
        log.error(strings.TOKEN_STOPPED if application.bot_data.get("started") else strings.TOKEN_REJECTED)
        return 2
    return 0

