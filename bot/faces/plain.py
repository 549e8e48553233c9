"""Plain-text rendering of an answer, for the terminal faces (console chat and `ask`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bot import strings
from bot.answers.engine import Answer
from bot.text import is_traditional, to_simplified, to_traditional, traditional_variant


def script_of(question: str) -> str:
    """"" for a Simplified question, else the OpenCC config of the forms the user writes in."""
    return traditional_variant(question) if is_traditional(question) else ""


def _converter(traditional: bool | str) -> Callable[[str], str]:
    """`traditional`: False/"" for Simplified, True for standard Traditional, or an OpenCC config."""
    config = traditional if isinstance(traditional, str) else ("s2t" if traditional else "")

    def local(text: str) -> str:
        return to_traditional(to_simplified(text), config) if config else text

    return local


def present(answer: Answer, traditional: bool | str) -> Answer:
    """The core's (Simplified) answer in the user's script, as data (for `ask --json`)."""
    local = _converter(traditional)
    sources = tuple(dataclasses.replace(s, title=local(s.title), origin=local(s.origin)) for s in answer.sources)
    return dataclasses.replace(answer, answer=local(answer.answer), sources=sources,
                               suggestions=tuple(map(local, answer.suggestions)))


def answer_text(answer: Answer, traditional: bool | str = False) -> str:
    """The answer as terminal text in the user's script (see `_converter`)."""
    local = _converter(traditional)

    lines = [local(answer.answer)]
    for source in answer.sources:
        cited = local(strings.format_source(source.title, source.origin, source.date, source.kind))
        lines.append(f"{local(strings.SOURCE_LABEL)}：{cited}")
    if answer.suggestions:
        head = strings.ALSO_HEAD if answer.matched else (
            strings.SUGGEST_HEAD if answer.offers_choice else strings.TRY_HEAD)
        lines.append(local(head))
        lines.extend(f"  {number}. {local(text)}" for number, text in enumerate(answer.suggestions, start=1))
    return "\n".join(lines)
