"""The command line: `run_bot.py [run|console|ask|kb check]`. A thin layer over the core."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.faces.console import run_console
from bot.faces.plain import render
from bot.knowledge.loader import load_folder
from bot.search.engine import Engine
from bot.text import is_traditional

log = logging.getLogger(__name__)


def default_knowledge_dir() -> Path:
    return Path(os.environ.get("QBOT_KNOWLEDGE_DIR", "knowledge"))


def build_engine(folder: Path, err: TextIO) -> Engine:
    """Loads what is valid and warns about the rest: one bad file must not take the answers down."""
    started = time.perf_counter()
    result = load_folder(folder)
    if result.problems:
        print(f"警告：{len(result.problems)} 个知识文件问题，已跳过（运行 `python run_bot.py kb check` 查看）",
              file=err)
    engine = Engine(result.snapshot)
    log.info("knowledge %s loaded and indexed in %.2fs (%d units)", result.snapshot.version,
             time.perf_counter() - started, engine.index.size)
    return engine


def cmd_kb_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = load_folder(args.knowledge)
    for problem in result.problems:
        print(problem, file=out)
    if result.problems:
        print(f"{len(result.problems)} problem(s) found", file=err)
        return 1
    counts = result.snapshot.counts()
    print("ok: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()), file=out)
    return 0


def _questions(args: argparse.Namespace, stdin: TextIO) -> list[str] | None:
    if args.question == ["-"]:
        return None
    return [" ".join(args.question)]


def cmd_ask(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    engine = build_engine(args.knowledge, err)
    questions = _questions(args, stdin)
    stream = questions if questions is not None else (line.rstrip("\r\n") for line in stdin)
    for question in stream:
        answer = engine.ask(question)
        if args.json:
            print(json.dumps(answer.as_json(), ensure_ascii=False), file=out, flush=True)
        else:
            print(render(answer, is_traditional(question)), file=out, flush=True)
    return 0


def cmd_console(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    engine = build_engine(args.knowledge, err)
    return run_console(engine, stdin, out)


def cmd_run(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        print("Telegram mode is not built yet; unset TELEGRAM_BOT_TOKEN to use the console chat.", file=err)
        return 2
    return cmd_console(args, stdin, out, err)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="run_bot.py", description="质量政策问答机器人")
    commands = top.add_subparsers(dest="command")

    def knowledge_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--knowledge", type=Path, default=default_knowledge_dir(), metavar="DIR",
                             help="knowledge folder (default: $QBOT_KNOWLEDGE_DIR or ./knowledge)")

    run = commands.add_parser("run", help="start the bot (console chat when TELEGRAM_BOT_TOKEN is unset)")
    knowledge_option(run)
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    knowledge_option(console)
    ask = commands.add_parser("ask", help="answer one question, or one per line from stdin with '-'")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.add_argument("question", nargs="+", help="the question, or '-' to read questions from stdin")
    knowledge_option(ask)
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_commands.add_parser("check", help="validate every knowledge file")
    knowledge_option(check)
    return top


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    logging.basicConfig(level=os.environ.get("QBOT_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)  # it announces its dictionary at DEBUG
    args = parser().parse_args(argv)
    if args.command in (None, "run"):
        if args.command is None:
            args.knowledge = default_knowledge_dir()
        return cmd_run(args, stdin, out, err)
    if args.command == "console":
        return cmd_console(args, stdin, out, err)
    if args.command == "ask":
        return cmd_ask(args, stdin, out, err)
    return cmd_kb_check(args, out, err)
