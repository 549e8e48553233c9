"""How answers look in Telegram: escaped HTML, keyboards, messages split under the size limit."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import strings
from bot.services import Reply
from bot.text import is_traditional, to_traditional

MESSAGE_LIMIT = 4096
TRADITIONAL_LOCALES = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")


def wants_traditional(update: Update) -> bool:
    """The script to reply in: the script of the user's text, else their Telegram language."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    if update.inline_query:
        text = update.inline_query.query
    if text and is_traditional(text):
        return True
    user = update.effective_user
    code = (user.language_code or "").lower() if user else ""
    return not text and code.startswith(TRADITIONAL_LOCALES)


def local(text: str, traditional: bool) -> str:
    return to_traditional(text) if traditional else text


def source_line(title: str, origin: str, date: str | None, traditional: bool, kind: str | None = None) -> str:
    """The citation; title and origin must already be in the user's script, the labels are converted."""
    cited = local(strings.format_source(title, origin, date, kind), traditional)
    return f"<i>{html.escape(local(strings.SOURCE_LABEL, traditional))}：{html.escape(cited)}</i>"


def answer_html(reply: Reply, traditional: bool) -> str:
    """The answer (already in the user's script), its source, and the suggestion heading."""
    answer = reply.answer
    parts = [html.escape(answer.answer)]
    for source in answer.sources:
        parts.append(source_line(source.title, source.origin, source.date, traditional, source.kind))
    if reply.suggestions:
        head = strings.ALSO_HEAD if answer.matched else (
            strings.SUGGEST_HEAD if answer.offers_choice else strings.TRY_HEAD)
        parts.append(html.escape(local(head, traditional)))
        # Without stored buttons (the store failed), the suggestions are listed as text instead.
        listed = [f"• {html.escape(text)}" for token, text in reply.suggestions if not token]
        if listed:
            parts.append("\n".join(listed))
    return "\n\n".join(parts)


def answer_keyboard(reply: Reply, traditional: bool) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(text[:60], callback_data=f"ask:{token}")] for token, text in reply.suggestions
            if token]
    if reply.answer.matched and reply.answer_id:
        rows.append([
            InlineKeyboardButton(local(strings.UP, traditional), callback_data=f"vote:{reply.answer_id}:1"),
            InlineKeyboardButton(local(strings.DOWN, traditional), callback_data=f"vote:{reply.answer_id}:0"),
        ])
    return InlineKeyboardMarkup(rows) if rows else None


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
