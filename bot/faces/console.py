"""The local console chat: the same answers as Telegram, in a terminal.

On a terminal, lines are read with the standard library's `readline` (arrow keys edit the line, Up and
Down walk this session's questions); Ctrl-C and Ctrl-D both say goodbye and exit without a traceback."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

from bot import strings
from bot.answers.engine import Answer, Engine
from bot.faces.plain import answer_text, script_of


def line_reader(stdin: TextIO, out: TextIO) -> Callable[[], str | None]:
    """A function returning the next line (None at the end). On the process's own terminal it is
    `input()` with readline's editing and history; otherwise lines are read from the stream."""
    if stdin is sys.stdin and out is sys.stdout and stdin.isatty():
        with contextlib.suppress(ImportError):  # Windows has no readline: plain input() still works
            import readline  # noqa: F401  (imported for its side effect: input() gains editing and history)

        def from_terminal() -> str | None:
            try:
                with ctrl_c_while_waiting():
                    return input("> ")
            except EOFError:
                print(file=out)
                return None

        return from_terminal

    def from_stream() -> str | None:
        line = stdin.readline()
        return line if line else None

    return from_stream


def _can_mask() -> bool:
    return hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def main_thread_gets_ctrl_c() -> Iterator[None]:
    """For a console session: SIGINT stays blocked except while the main thread waits at the prompt
    (`ctrl_c_while_waiting`). Every thread started meanwhile (the compiled search library starts
    its own) inherits the block, so the terminal's Ctrl-C can only land in the main thread, which
    is waiting in readline; delivered to another thread it would leave the prompt hanging."""
    if not _can_mask():
        yield
        return
    # A console started from a background job inherits SIGINT ignored; a person at the prompt still
    # expects Ctrl-C to leave.
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if previous == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def ctrl_c_while_waiting() -> Iterator[None]:
    """Ctrl-C reaches the main thread while it waits for a line (a press made meanwhile arrives now)."""
    if not _can_mask():
        yield
        return
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def run_console(engine: Engine, stdin: TextIO, out: TextIO) -> int:
    print(strings.CONSOLE_WELCOME, file=out)
    read = line_reader(stdin, out)
    last = Answer(False, "", 0)
    try:
        while True:
            line = read()
            if line is None:  # Ctrl-D
                break
            question = line.strip()
            if not question:
                continue
            if question in ("/quit", "/exit"):
                break
            if question in ("/help", "/start"):
                print(strings.CONSOLE_HELP, file=out, flush=True)
                continue
            if question.isdigit() and 1 <= int(question) <= len(last.suggestions):
                question = last.suggestions[int(question) - 1]
            last = engine.ask(question)
            print(answer_text(last, script_of(question)), file=out, flush=True)
    except KeyboardInterrupt:  # Ctrl-C: the same goodbye as Ctrl-D
        print(file=out)
    print(strings.CONSOLE_BYE, file=out)
    return 0
