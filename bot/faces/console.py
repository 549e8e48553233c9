"""The local console chat: the same answers as Telegram, in a terminal."""

from __future__ import annotations

from typing import TextIO

from bot import strings
from bot.faces.plain import render, script_of
from bot.search.engine import Answer, Engine


def run_console(engine: Engine, stdin: TextIO, out: TextIO) -> int:
    interactive = stdin.isatty()
    print(strings.CONSOLE_WELCOME, file=out)
    last = Answer(False, "", 0)
    while True:
        if interactive:
            print("> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:  # Ctrl-D
            print(strings.CONSOLE_BYE, file=out)
            return 0
        question = line.strip()
        if not question:
            continue
        if question in ("/quit", "/exit"):
            print(strings.CONSOLE_BYE, file=out)
            return 0
        if question in ("/help", "/start"):
            print(strings.CONSOLE_HELP, file=out, flush=True)
            continue
        if question.isdigit() and 1 <= int(question) <= len(last.suggestions):
            question = last.suggestions[int(question) - 1]
        last = engine.ask(question)
        print(render(last, script_of(question)), file=out, flush=True)
