"""Plain-text rendering of an answer, for the terminal faces (console chat and `ask`)."""

from __future__ import annotations

from bot import strings
from bot.search.engine import Answer
from bot.text import to_traditional


def render(answer: Answer, traditional: bool = False) -> str:
    def local(text: str) -> str:
        return to_traditional(text) if traditional else text

    lines = [answer.answer]
    for source in answer.sources:
        cited = strings.format_source(source.title, source.origin, source.date, source.kind)
        lines.append(f"{local(strings.SOURCE_LABEL)}：{cited}")
    if answer.suggestions:
        head = strings.ALSO_HEAD if answer.matched else (
            strings.SUGGEST_HEAD if answer.offers_choice else strings.TRY_HEAD)
        lines.append(local(head))
        lines.extend(f"  {number}. {text}" for number, text in enumerate(answer.suggestions, start=1))
    return "\n".join(lines)
