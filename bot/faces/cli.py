"""The command line: `run_bot.py [run|console|ask|kb check]`. A thin layer over the core."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

from bot import strings
from bot.curation import KnowledgeManager, UploadRefused, target_path
from bot.faces.console import run_console
from bot.faces.plain import render
from bot.knowledge.loader import load_folder
from bot.knowledge.model import Snapshot
from bot.search.cache import CACHE_FOLDER, use_cache
from bot.search.engine import Engine, today_in_china
from bot.search.slots import LEVEL_NAMES
from bot.search.units import build_units
from bot.services import Assistant, FloodGuard, KnowledgeBase, Roles, SuggestionBook
from bot.settings import SettingsError, load_settings, read_env_file
from bot.store.repositories import Store
from bot.text import is_traditional

log = logging.getLogger(__name__)


class _Redact(logging.Filter):
    """Replaces a secret in every log record, whoever logs it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<token>"), ()
        if record.exc_info and not record.exc_text:  # tracebacks of HTTP errors carry the URL
            record.exc_text = logging.Formatter().formatException(record.exc_info).replace(self.secret, "<token>")
        return True


def redact_secret(secret: str) -> None:
    """Scrubs `secret` from every log handler and from uncaught exceptions (which bypass logging)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_Redact(secret))

    def scrubbed(kind: type[BaseException], value: BaseException | None, trace: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, trace)).replace(secret, "<token>")
        sys.stderr.write(text)

    def scrubbed_thread(args: threading.ExceptHookArgs) -> None:
        scrubbed(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = scrubbed
    threading.excepthook = scrubbed_thread


def default_knowledge_dir() -> Path:
    return Path(os.environ.get("QBOT_KNOWLEDGE_DIR", "knowledge"))


def build_engine(folder: Path, err: TextIO, today: dt.date | None = None) -> Engine:
    """Loads what is valid and warns about the rest: one bad file must not take the answers down."""
    started = time.perf_counter()
    if os.environ.get("QBOT_INDEX_CACHE", "1").strip() != "0":  # pages read, cut and indexed once, by content
        use_cache(folder / CACHE_FOLDER)
    result = load_folder(folder)
    if result.problems:
        print(f"警告：{len(result.problems)} 个知识文件问题，已跳过（运行 `python run_bot.py kb check` 查看）",
              file=err)
    engine = Engine(result.snapshot, today=(lambda: today) if today else today_in_china)
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
    sources = source_summary(result.snapshot)
    print(f"sources: {sources['addresses']} distinct addresses; by kind: "
          + ", ".join(f"{kind} {count}" for kind, count in sources["kinds"].items()), file=out)
    if args.explain:
        explain(result.snapshot, args.explain, out)
    return 0


def source_summary(snapshot: Snapshot) -> dict:
    """Distinct source addresses and entries per source kind (unknown when an entry does not say)."""
    sources = [entry.source for entry in snapshot.entries] + [pointer.source for pointer in snapshot.pointers]
    kinds = Counter(source.kind or "unknown" for source in sources)
    return {"addresses": len({source.url for source in sources if source.url}), "kinds": dict(kinds.most_common())}


def explain(snapshot: Snapshot, name: str, out: TextIO) -> None:
    """What the bot understood of one file: each unit's years, places (with level) and kind."""
    wanted = Path(name).name
    units, _ = build_units(snapshot)
    shown = 0
    for unit in units:
        path = unit.source.article if unit.kind == "passage" else None
        entry = next((e for e in snapshot.entries if e.id == unit.key), None) if unit.kind == "entry" else None
        if (entry is None or Path(entry.path).name != wanted) and path != wanted:
            continue
        slots = unit.slots
        if slots is None:
            continue
        places = "、".join(f"{place.name}（{LEVEL_NAMES[place.level]}）" for place in slots.scope)
        scope = places or ("全国" if slots.national else "未识别")
        years = "、".join(str(year) for year in sorted(slots.years)) or "未识别"
        kind = entry.type if entry else "article"
        print(f"{unit.key}\t类型：{kind}\t年份：{years}\t地区：{scope}\t来源类型：{unit.source.kind or '未标注'}",
              file=out)
        shown += 1
    if not shown:
        print(f"{name}: 没有找到这个文件的条目或段落", file=out)


def cmd_kb_add(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Imports a raw page (or an entries file) with the same checks and cleaning as a chat upload."""
    source: Path = args.file
    if not source.is_file():
        print(f"{source}: file not found", file=err)
        return 1
    data = source.read_bytes()
    try:
        path = target_path(source.name, len(data))
    except UploadRefused as refused:
        print(f"{source}: {refused}", file=err)
        return 1
    manager = KnowledgeManager(args.knowledge, lambda: load_folder(args.knowledge).snapshot, lambda _: None)
    change = manager.plan(path, data)
    for problem in change.problems:
        print(problem, file=out)
    if not change.ok:
        print(f"{len(change.problems)} problem(s): nothing was changed", file=err)
        return 1
    if change.article:
        title, date, passages = change.article
        print(f"title: {title}\ndate: {date or 'unknown'}\npassages: {passages}", file=out)
    for label, ids in (("added", change.added), ("changed", change.changed), ("removed", change.removed)):
        if ids:
            print(f"{label}: {', '.join(ids)}", file=out)
    record = manager.apply(change, who=None, action="cli")
    print(f"written to {args.knowledge / path} (history {record.id})", file=out)
    return 0


def _questions(args: argparse.Namespace, stdin: TextIO) -> list[str] | None:
    if args.question == ["-"]:
        return None
    return [" ".join(args.question)]


def cmd_ask(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    engine = build_engine(args.knowledge, err, args.today)
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
    """The bot: Telegram when a token is configured (environment or .env), else the console chat."""
    if not (os.environ.get("TELEGRAM_BOT_TOKEN") or read_env_file(Path(".env")).get("TELEGRAM_BOT_TOKEN")):
        return cmd_console(args, stdin, out, err)
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        print(f"配置错误 / settings error: {error}", file=err)
        return 2
    redact_secret(settings.token)
    from bot.faces.telegram.app import run_polling  # only the Telegram face needs PTB

    store = Store(settings.data_dir)
    engine = build_engine(settings.knowledge_dir, err)
    assistant = Assistant(KnowledgeBase(engine), store, Roles(settings.admins, store),
                          FloodGuard(settings.flood_messages, settings.flood_seconds), SuggestionBook())
    try:
        return run_polling(settings, assistant)
    except Exception as error:  # anything else that escapes PTB: one line, token scrubbed
        log.error("the bot stopped on an unexpected error", exc_info=True)
        print(strings.START_FAILED.format(error=str(error).replace(settings.token, "<token>")), file=err)
        return 1
    finally:
        store.close()


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
    ask.add_argument("--today", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                     help="the date 今年/去年 are read against (default: today in China)")
    ask.add_argument("question", nargs="+", help="the question, or '-' to read questions from stdin")
    knowledge_option(ask)
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_commands.add_parser("check", help="validate every knowledge file")
    check.add_argument("--explain", metavar="FILE", help="also show what the bot read from FILE: years, places, kind")
    knowledge_option(check)
    add = kb_commands.add_parser("add", help="import a raw page (.txt/.md) or entries file (.yaml) into the knowledge")
    add.add_argument("file", type=Path)
    knowledge_option(add)
    return top


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    logging.basicConfig(level=(os.environ.get("QBOT_LOG_LEVEL") or "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)  # it announces its dictionary at DEBUG
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request URL, token included
    logging.getLogger("bot.audit").setLevel(logging.INFO)  # who did what is shown at every level
    args = parser().parse_args(argv)
    if args.command in (None, "run"):
        if args.command is None:
            args.knowledge = default_knowledge_dir()
        return cmd_run(args, stdin, out, err)
    if args.command == "console":
        return cmd_console(args, stdin, out, err)
    if args.command == "ask":
        return cmd_ask(args, stdin, out, err)
    if args.kb_command == "add":
        return cmd_kb_add(args, out, err)
    return cmd_kb_check(args, out, err)
