"""How answers look in Telegram: escaped HTML, keyboards, messages split under the size limit."""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import strings
from bot.assistant import Reply
from bot.text import has_han, is_traditional, to_simplified, to_traditional, traditional_variant

MESSAGE_LIMIT = 4096
# A reply's script: "" for Simplified, else the OpenCC config of the user's Traditional variant. Handlers
# pass it where a bool used to go; it is falsy exactly when the reply is Simplified.
Script = str
# An inline keyboard in the Bot API's JSON form: {"inline_keyboard": [[{"text": …, "callback_data": …}]]}.
Keyboard = dict[str, Any]


def locale_script(language_code: str | None) -> Script:
    """Traditional for zh-Hant / zh-TW / zh-HK / zh-MO Telegram users, in their region's forms."""
    parts = (language_code or "").lower().replace("_", "-").split("-")
    if parts[0] != "zh":
        return ""
    if "tw" in parts:
        return "s2tw"
    if "hk" in parts or "mo" in parts:
        return "s2hk"
    return "s2t" if "hant" in parts else ""


def wants_traditional(update: Update) -> Script:
    """The script to reply in: the script of the user's Chinese text (in the forms they write, or their
    region's), else their Telegram language. Commands and text without Chinese follow the language."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    if update.inline_query:
        text = update.inline_query.query
    user = update.effective_user
    from_locale = locale_script(user.language_code if user else None)
    if text and not text.startswith("/") and has_han(text):
        if not is_traditional(text):
            return ""
        return from_locale or traditional_variant(text)
    return from_locale


def local(text: str, traditional: bool | Script) -> str:
    """Simplified text (or text already converted by the core) in the user's script and variant."""
    if not traditional:
        return text
    return _converted(text, traditional if isinstance(traditional, str) else "s2t")


@lru_cache(maxsize=4096)
def _converted(text: str, config: str) -> str:
    """Kept per text and variant: answers, sources and button labels repeat, and OpenCC took a few
    per cent of the bot's CPU under load converting the same answers again."""
    return to_traditional(to_simplified(text) if config != "s2t" else text, config)


def source_line(title: str, origin: str, date: str | None, traditional: bool | Script,
                kind: str | None = None) -> str:
    """The citation, in the user's script, with the kind of page it is."""
    cited = local(strings.format_source(title, origin, date, kind), traditional)
    return f"<i>{html.escape(local(strings.SOURCE_LABEL, traditional))}：{html.escape(cited)}</i>"


def answer_html(reply: Reply, traditional: bool | Script) -> str:
    """The answer, its source, and the suggestion heading, in the user's script."""
    answer = reply.answer
    parts = [html.escape(local(answer.answer, traditional))]
    for source in answer.sources:
        parts.append(source_line(source.title, source.origin, source.date, traditional, source.kind))
    if reply.suggestions:
        head = strings.ALSO_HEAD if answer.matched else (
            strings.SUGGEST_HEAD if answer.offers_choice else strings.TRY_HEAD)
        parts.append(html.escape(local(head, traditional)))
        # Without stored buttons (the store failed), the suggestions are listed as text instead.
        listed = [f"• {html.escape(local(text, traditional))}" for token, text in reply.suggestions if not token]
        if listed:
            parts.append("\n".join(listed))
    return "\n\n".join(parts)


def button(text: str, data: str) -> dict[str, str]:
    """An inline button as the Bot API takes it (what InlineKeyboardButton(...).to_dict() gives)."""
    return {"text": text, "callback_data": data}


def answer_keyboard(reply: Reply, traditional: bool | Script) -> Keyboard | None:
    """Suggestion buttons and 👍/👎, as JSON: every answer has them, and as PTB objects (built, then
    turned back into JSON to send) they cost a tenth of an answer's CPU under load."""
    rows = [[button(local(text, traditional)[:60], f"ask:{token}")] for token, text in reply.suggestions if token]
    if reply.answer.matched and reply.question_id:
        rows.append([button(local(strings.UP, traditional), f"vote:{reply.question_id}:1"),
                     button(local(strings.DOWN, traditional), f"vote:{reply.question_id}:0")])
    return {"inline_keyboard": rows} if rows else None


def confirm_keyboard(confirm: tuple[str, str], cancel: tuple[str, str],
                     traditional: bool | Script) -> InlineKeyboardMarkup:
    """The one row of a confirm button and a cancel button, each given as (label, callback data)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(local(label, traditional), callback_data=data)
                                  for label, data in (confirm, cancel)]])


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces under Telegram's limit, cut at line breaks where possible. Callers keep markup within
    single lines, so no tag is ever cut in two."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces
