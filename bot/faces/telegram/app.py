"""Application wiring: the command table, the one ordered routing table, start-up and polling."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot import strings
from bot.handoff.service import ASK_FOR_PERSON
from bot.people import Role
from bot.services import Services
from bot.settings import Settings

from . import admin, handlers, jobs, staff, staffdesk, webhook
from .handlers import BotContext, Handler, send, services_of
from .network import PerChatOrder, Retrying, telegram_request
from .render import local, wants_traditional
from .sender import TelegramSender

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
    if context.args and await staffdesk.open_entry(update, context, context.args[0]):  # a deep link
        return
    traditional = wants_traditional(update)
    tokens = await context.assistant.buttons("ask", list(strings.DEFAULT_SUGGESTIONS))
    rows = [[InlineKeyboardButton(local(text, traditional), callback_data=f"ask:{token}")]
            for text, token in zip(strings.DEFAULT_SUGGESTIONS, tokens, strict=True)]
    await send(update.effective_message, strings.WELCOME, traditional, InlineKeyboardMarkup(rows))


async def on_help(update: Update, context: BotContext) -> None:
    """Built from the command table: each user sees the commands of their role and below."""
    user = update.effective_user
    if update.effective_message is None or user is None:
        return
    role = await context.assistant.roles.of(user.id)
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
    Command("privacy", strings.CMD_PRIVACY, Role.CITIZEN, handlers.on_privacy),
    Command("forget", strings.CMD_FORGET, Role.CITIZEN, handlers.on_forget),
    Command("whoami", strings.CMD_WHOAMI, Role.CITIZEN, handlers.on_whoami),
    Command("stats", strings.CMD_STATS, Role.STAFF, staffdesk.on_stats),
    Command("export", strings.CMD_EXPORT, Role.STAFF, staffdesk.on_export),
    Command("broadcast", strings.CMD_BROADCAST, Role.STAFF, staff.on_broadcast),
    Command("schedule", strings.CMD_SCHEDULE, Role.STAFF, staff.on_schedule),
    Command("reminders", strings.CMD_REMINDERS, Role.STAFF, staff.on_reminders),
    Command("cancel", strings.CMD_CANCEL, Role.STAFF, staff.on_cancel),
    Command("staff", strings.CMD_STAFF, Role.ADMIN, handlers.on_staff),
    Command("unanswered", strings.CMD_UNANSWERED, Role.ADMIN, admin.on_unanswered),
    Command("kb", strings.CMD_KB, Role.ADMIN, admin.on_kb),
    Command("reload", strings.CMD_RELOAD, Role.ADMIN, admin.on_reload),
    Command("rollback", strings.CMD_ROLLBACK, Role.ADMIN, admin.on_rollback),
)


def routing_table(staff_chat: int | None = None) -> list[tuple[int, BaseHandler]]:
    """Every handler, in the order they are tried: (group, handler). Group -1 (the flood guard, then
    the user's record) runs first for all updates; within group 0 the first matching handler wins.
    Replies in `staff_chat` (QBOT_STAFF_CHAT) are staff answers to hand-offs."""
    private_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    group_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS
    staff_replies = ([(0, MessageHandler(filters.Chat(staff_chat) & filters.REPLY & filters.UpdateType.MESSAGE
                                         & ~filters.COMMAND, staffdesk.on_staff_reply))]
                     if staff_chat is not None else [])
    return [
        (-1, TypeHandler(Update, handlers.guard)),
        *((0, CommandHandler(command.name, command.handler)) for command in COMMANDS),
        (0, CallbackQueryHandler(handlers.on_suggestion, pattern=r"^ask:")),
        (0, CallbackQueryHandler(handlers.on_vote, pattern=r"^vote:")),
        (0, CallbackQueryHandler(handlers.on_forget_button, pattern=r"^fg:")),
        (0, CallbackQueryHandler(handlers.on_vote_reason, pattern=r"^why:")),
        (0, CallbackQueryHandler(handlers.on_browse_page, pattern=r"^browse:")),
        (0, CallbackQueryHandler(handlers.on_entry, pattern=r"^entry:")),
        (0, CallbackQueryHandler(staff.on_broadcast_button, pattern=r"^bc:")),
        (0, CallbackQueryHandler(admin.on_upload_button, pattern=r"^up:")),
        (0, CallbackQueryHandler(admin.on_rollback_button, pattern=r"^rb:")),
        (0, CallbackQueryHandler(admin.on_unanswered_button, pattern=r"^ua:")),
        (0, CallbackQueryHandler(staffdesk.on_stats_button, pattern=r"^st:")),
        (0, CallbackQueryHandler(staffdesk.on_handoff_button, pattern=r"^ho:")),
        (0, CallbackQueryHandler(handlers.on_unknown_button)),
        (0, InlineQueryHandler(handlers.on_inline)),
        (0, ChatMemberHandler(staffdesk.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)),
        *staff_replies,
        (0, MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
                           admin.on_document)),
        (0, MessageHandler(private_text & filters.UpdateType.MESSAGE & filters.Regex(ASK_FOR_PERSON),
                           staffdesk.on_handoff_text)),
        (0, MessageHandler(private_text & filters.UpdateType.MESSAGE, handlers.on_private_text)),
        (0, MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
                           handlers.on_unknown_command)),
        (0, MessageHandler(filters.PHOTO & filters.CAPTION & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
                           handlers.on_caption)),
        (0, MessageHandler(group_text & filters.UpdateType.MESSAGE, handlers.on_group_text)),
        (0, MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT,
                           handlers.on_not_text)),
    ]


async def on_start_up(application: Application) -> None:
    application.bot_data["started"] = True  # the token was accepted
    print(strings.STARTED.format(username=application.bot.username, mode="polling"), flush=True)
    settings = services_of(application.bot_data).settings
    await publish_commands(application)
    await jobs.start_reminders(application)
    admin.start_watching(application, settings.watch_seconds)
    start_pruning(application)
    jobs.start_syncing(application, settings.sync_seconds)
    await admin.start_pulling(application, settings.sync_seconds)
    await staffdesk.start_http(application)


async def prune(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily: raw questions and votes past the retention period go, daily counts and the audit stay."""
    services = services_of(context.application.bot_data)
    removed = await services.assistant.prune(services.settings.retention_days)
    log.info("retention: removed %s", {name: count for name, count in removed.items() if count})


def start_pruning(application: Application) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(prune, interval=86400, first=60, name="prune",
                                            job_kwargs={"id": "prune", "replace_existing": True})


async def publish_commands(application: Application) -> None:
    """setMyCommands: citizens' commands for everyone; admins also get theirs in their own chats."""
    bot = application.bot
    citizen = [BotCommand(c.name, c.description) for c in COMMANDS if c.role is Role.CITIZEN]
    await bot.set_my_commands(citizen)
    settings = services_of(application.bot_data).settings
    everything = [BotCommand(c.name, c.description[:256]) for c in COMMANDS]
    for admin_id in settings.admins:
        try:
            await bot.set_my_commands(everything, scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:  # the admin has not opened a chat with the bot yet
            log.info("could not set admin commands for %s: %s", admin_id, error.__class__.__name__)


async def on_stop(application: Application) -> None:
    await jobs.stop_reminders(application)
    await asyncio.to_thread(services_of(application.bot_data).curation.stop_listening)


async def on_shut_down(application: Application) -> None:
    await staffdesk.stop_http(application)
    await on_stop(application)
    await asyncio.to_thread(services_of(application.bot_data).curation.stop_watching)


def build_application(services: Services, request: BaseRequest | None = None, webhook: bool = False) -> Application:
    """The wired application over the services. `request` replaces the HTTP layer in offline handler tests."""
    settings = services.settings
    builder = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .context_types(ContextTypes(context=BotContext))
        .post_init(on_start_up)
        .post_shutdown(on_shut_down)
        .concurrent_updates(PerChatOrder(max_concurrent=64))
        .rate_limiter(Retrying())
    )
    if request is None:  # the long poll waits on a connection of its own
        builder = builder.request(telegram_request(settings.proxy)).get_updates_request(
            telegram_request(settings.proxy, connections=1))
    else:
        builder = builder.request(request).get_updates_request(request)
    if webhook:
        builder = builder.updater(None)  # updates arrive at our webhook server, not by getUpdates
    application = builder.build()
    application.bot_data["services"] = services
    services.broadcasts.connect(TelegramSender(application.bot))

    async def alert(text: str) -> None:
        await admin.notify_admins(application, text)

    services.assistant.alert = alert
    for group, handler in routing_table(settings.staff_chat):
        application.add_handler(handler, group=group)
    application.add_error_handler(staffdesk.on_error)
    return application


def run_webhook(services: Services) -> int:
    """Webhook mode (QBOT_WEBHOOK_URL): several instances can run behind one load balancer."""
    settings = services.settings
    application = build_application(services, webhook=True)
    log.info("starting in webhook mode on %s:%s", settings.webhook_host, settings.webhook_port)

    async def stop(application: Application) -> None:
        await staffdesk.stop_http(application)
        await on_stop(application)

    asyncio.run(webhook.serve(application, settings.webhook_url or "", settings.secret_token,
                              settings.webhook_host, settings.webhook_port, on_start_up, stop))
    return 0


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


def _reason(error: Exception) -> str:
    """One line saying why a request failed, without the exception's chain or traceback."""
    cause = error.__cause__ or error.__context__
    text = str(error).strip() or error.__class__.__name__
    if cause is not None and str(cause).strip() and str(cause).strip() not in text:
        text = f"{text}: {str(cause).strip()}"
    return " ".join(text.split())[:200]


async def wait_for_telegram(settings: Settings, first_delay: float = 1.0, longest: float = 60.0) -> str:
    """getMe until Telegram answers, waiting longer each time (1, 2, 4 … 60 s) and saying why in one
    line; returns the bot's username. A rejected token is not retried (InvalidToken propagates)."""
    delay = first_delay
    for attempt in itertools.count(1):
        bot = Bot(settings.token, base_url=settings.base_url, base_file_url=settings.base_file_url,
                  request=HTTPXRequest(proxy=settings.proxy) if settings.proxy else None)
        try:
            async with bot:  # initialize() calls getMe
                return bot.username
        except InvalidToken:
            raise
        except (NetworkError, OSError) as error:  # TimedOut is a NetworkError; 5xx from a proxy as well
            log.warning(strings.TELEGRAM_UNREACHABLE.format(reason=_reason(error), delay=delay, attempt=attempt))
        await asyncio.sleep(delay)
        delay = min(delay * 2, longest)
    raise AssertionError("unreachable")


def run_polling(services: Services) -> int:
    """Polls until stopped; returns the exit code. A rejected token is one line, never a traceback:
    PTB's InvalidToken message contains the token itself."""
    settings = services.settings
    application = build_application(services)
    for name in ("telegram.ext", "telegram.ext.Updater", "telegram.ext.Application"):
        logging.getLogger(name).addFilter(_DropTokenTracebacks())
    log.info("starting long polling against %s", settings.api_url)
    try:
        asyncio.run(wait_for_telegram(settings))
    except InvalidToken:
        log.error(strings.TOKEN_REJECTED)
        return 2
    except KeyboardInterrupt:
        return 0
    asyncio.set_event_loop(asyncio.new_event_loop())  # asyncio.run closed its loop; PTB uses the current one
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:  # at start, or a 401 on getUpdates later (PTB then stops polling for good)
        log.error(strings.TOKEN_STOPPED if application.bot_data.get("started") else strings.TOKEN_REJECTED)
        return 2
    return 0

