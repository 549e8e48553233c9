"""What staff see of a broadcast: one message edited as it goes, and the final counts."""

from __future__ import annotations

import logging

from telegram import Message
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ExtBot

from bot import strings
from bot.broadcasts.broadcaster import Progress

from .handlers import services_of
from .render import local

log = logging.getLogger(__name__)


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
