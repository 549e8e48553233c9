"""Delivering one broadcast message through the Bot API, in the words the broadcaster understands."""

from __future__ import annotations

import logging

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.broadcasts.broadcaster import Blocked, Migrated, RateLimited, Rejected, Transient

from .network import retry_seconds

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
