"""The command line: `run_bot.py [run|console|ask|kb check]`. A thin layer over the core."""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import gc
import json
import logging
import os
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import strings
from bot.answers.engine import Engine, today_in_china
from bot.answers.live import KnowledgeUnavailable, load_engine
from bot.answers.slots import LEVEL_NAMES
from bot.answers.units import build_units
from bot.curation.folder import HistoryRecord, KnowledgeFolder
from bot.curation.uploads import UploadRefused, target_path
from bot.faces.buttons import BUTTON_DATA_LIMIT, ENTRY_PREFIX, entry_id_fits
from bot.faces.console import main_thread_gets_ctrl_c, run_console
from bot.faces.plain import answer_text, present, script_of
from bot.knowledge.conflicts import Conflict, find_conflicts
from bot.knowledge.loader import load_folder
from bot.knowledge.model import Snapshot
from bot.settings import SettingsError, load_settings, read_env_file, storage_settings
from bot.text import warm_converters

# The store, the services and the reports (SQLAlchemy, Alembic, Prometheus: about 0.6 s) are imported by the
# commands that use them, not by `ask`, `console` and `kb`, whose start-up is the time to the first answer.
if TYPE_CHECKING:
    from bot.store.repositories import Store

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
    """Loads what is valid and warns about the rest; a missing or empty folder stops everything
    (KnowledgeUnavailable, reported by main in one line)."""
    engine, problems = load_engine(folder, (lambda: today) if today else today_in_china,
                                   cache=os.environ.get("QBOT_INDEX_CACHE", "1").strip() != "0")
    if problems:
        print(strings.KNOWLEDGE_PROBLEMS.format(count=problems), file=err)
    return engine


def long_id_warnings(snapshot: Snapshot) -> list[str]:
    """Ids too long to ride in a Telegram button as written (the bot then uses a short hash)."""
    room = BUTTON_DATA_LIMIT - len(ENTRY_PREFIX)
    return [strings.W_ID_TOO_LONG.format(path=entry.path, id=entry.id, size=len(entry.id.encode()),
                                         limit=BUTTON_DATA_LIMIT, prefix=ENTRY_PREFIX, room=room)
            for entry in snapshot.entries if not entry_id_fits(entry.id)]


def cmd_kb_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = load_folder(args.knowledge)
    for problem in result.problems:
        print(problem, file=out)
    warnings = long_id_warnings(result.snapshot)
    if result.problems:
        for warning in warnings:
            print(warning, file=out)
        print(f"{len(result.problems)} problem(s) found", file=err)
        return 1
    counts = result.snapshot.counts()
    print("ok: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()), file=out)
    addresses, kinds = result.snapshot.source_counts()
    print(f"sources: {addresses} distinct addresses; by kind: "
          + ", ".join(f"{kind} {count}" for kind, count in kinds.items()), file=out)
    for conflict in find_conflicts(result.snapshot.entries):
        print(conflict_line(conflict), file=out)
    if args.explain:
        explain(result.snapshot, args.explain, out)
    for warning in warnings:
        print(warning, file=out)
    return 0


def conflict_line(conflict: Conflict) -> str:
    """One conflict as admins read it: where each statement is, from what kind of source, and the winner."""
    said = "；".join(strings.CONFLICT_SIDE.format(
        path=entry.path, line=entry.line, id=entry.id, value=conflict.value(entry),
        kind=strings.SOURCE_KIND_NAMES.get(entry.source.kind or "unknown", entry.source.kind or ""))
        for entry in conflict.entries)
    return strings.CONFLICT_LINE.format(year=conflict.year, region=conflict.region or strings.NATIONAL_LABEL,
                                        field=strings.CONFLICT_FIELDS.get(conflict.field, conflict.field),
                                        said=said, winner=conflict.winner.id)


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


def _confirmed(prompt: str, stdin: TextIO, out: TextIO) -> bool:
    """Asks on the terminal; anything but y/yes/是 (or no answer at all) is a no."""
    print(prompt, end="", file=out, flush=True)
    answer = stdin.readline().strip().lower()
    return answer in ("y", "yes", "是", "确认")


def file_diff(folder: Path, path: str, data: bytes) -> list[str]:
    """A unified diff of the file on disk and what would be written (new files: every line added)."""
    target = folder / path
    before = target.read_text(encoding="utf-8", errors="replace").splitlines() if target.is_file() else []
    after = data.decode("utf-8", errors="replace").splitlines()
    return list(difflib.unified_diff(before, after, f"a/{path}", f"b/{path}", lineterm="", n=2))


def cmd_kb_add(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    """Imports a raw page (or an entries file) with the same checks and cleaning as a chat upload:
    shows what changes and the diff, then asks (unless --yes); --dry-run writes nothing."""
    source: Path = args.file
    if not source.is_file():
        print(f"{source}: file not found", file=err)
        return 1
    data = source.read_bytes()
    try:
        path = target_path(source.name, len(data))
    except UploadRefused as refused:
        print(f"{source}: {strings.upload_refused(refused.reason, refused.values)}", file=err)
        return 1
    manager = KnowledgeFolder(args.knowledge, lambda: load_folder(args.knowledge).snapshot, lambda _: None)
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
    for line in file_diff(args.knowledge, path, change.data):
        print(line, file=out)
    if args.dry_run:
        print(strings.CLI_DRY_RUN, file=out)
        return 0
    if not args.yes and not _confirmed(strings.CLI_CONFIRM_WRITE.format(path=args.knowledge / path), stdin, out):
        print(strings.CLI_CANCELLED, file=out)
        return 1
    record = manager.apply(change, who=None, action="cli")
    print(strings.CLI_WRITTEN.format(path=args.knowledge / path, record=record.id), file=out)
    return 0


def _history_line(record: HistoryRecord) -> str:
    when = dt.datetime.fromtimestamp(record.when).astimezone()
    line = strings.KB_CHANGE.format(id=record.id, when=f"{when:%Y-%m-%d %H:%M}", who=record.who or "命令行",
                                    action=strings.KB_ACTIONS.get(record.action, record.action),
                                    summary=record.summary)
    return line + (strings.CLI_UNDONE if record.undone else "")


def cmd_kb_history(args: argparse.Namespace, out: TextIO) -> int:
    history = KnowledgeFolder(args.knowledge, lambda: Snapshot(), lambda _: None).history()
    for record in history[: args.limit]:
        print(_history_line(record), file=out)
    if not history:
        print(strings.CLI_NO_HISTORY, file=out)
    return 0


def cmd_kb_rollback(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    """Undoes the latest change not yet undone, as /rollback does in chat."""
    manager = KnowledgeFolder(args.knowledge, lambda: load_folder(args.knowledge).snapshot, lambda _: None)
    last = next((r for r in manager.history() if r.action != "rollback" and not r.undone), None)
    if last is None:
        print(strings.ROLLBACK_NOTHING, file=out)
        return 1
    print(strings.ROLLBACK_PROMPT.format(id=last.id, summary=last.summary).removesuffix("确定吗？"), file=out)
    if not args.yes and not _confirmed(strings.CLI_CONFIRM_ROLLBACK, stdin, out):
        print(strings.CLI_CANCELLED, file=out)
        return 1
    manager.rollback(None)
    version = load_folder(args.knowledge).snapshot.version
    print(strings.ROLLBACK_DONE.format(id=last.id, summary=last.summary, version=version), file=out)
    return 0


def _questions(args: argparse.Namespace, stdin: TextIO) -> list[str] | None:
    """One question per argument (quote a question that has spaces); None for '-': read stdin."""
    if args.question == ["-"]:
        return None
    return list(args.question)


def cmd_ask(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    engine = build_engine(args.knowledge, err, args.today)
    questions = _questions(args, stdin)
    stream = questions if questions is not None else (line.rstrip("\r\n") for line in stdin)
    for number, question in enumerate(stream):
        answer = engine.ask(question)
        if args.json:
            print(json.dumps(present(answer, script_of(question)).as_json(), ensure_ascii=False), file=out, flush=True)
        else:
            print(("\n" if number else "") + answer_text(answer, script_of(question)), file=out, flush=True)
    return 0


def cmd_console(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    with main_thread_gets_ctrl_c():
        engine = build_engine(args.knowledge, err)
        return run_console(engine, stdin, out)


def settle_for_serving() -> None:
    """Once the knowledge is loaded, before the first update: the converters every message needs are
    opened, and what exists now (the engine, its index and word lists: some 300,000 objects, kept
    for the life of the process) is moved out of the garbage collector's sight with gc.freeze().
    Otherwise each full collection walks them all, about 140 ms holding the GIL, and a busy minute
    triggers several. A reload's engine is frozen in its turn (`give_back_memory`)."""
    warm_converters()
    gc.collect()
    gc.freeze()


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
    from bot.faces.telegram.app import run_polling, run_webhook  # only the Telegram face needs PTB
    from bot.services import build_services
    from bot.store.importer import legacy_notice

    engine = build_engine(settings.knowledge_dir, err)  # stops here, in one line, without knowledge
    services = build_services(settings, engine)
    settle_for_serving()
    notice = legacy_notice(services.store, settings.data_dir)
    if notice:
        print(notice, file=err)
        log.warning("%s", notice)
    try:
        return (run_webhook if settings.webhook_url else run_polling)(services)
    except Exception as error:  # anything else that escapes PTB: one line, token scrubbed
        log.error("the bot stopped on an unexpected error", exc_info=True)
        print(strings.START_FAILED.format(error=str(error).replace(settings.token, "<token>")), file=err)
        return 1
    finally:
        services.close()


def cmd_db_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Imports an old TinyDB bot.json (and the broadcast journals beside it) into the store."""
    try:
        data_dir, url = storage_settings(os.environ)
    except SettingsError as error:
        print(f"配置错误 / settings error: {error}", file=err)
        return 2
    if not args.file.is_file():
        print(f"{args.file}: file not found", file=err)
        return 1
    from bot.store.db import describe
    from bot.store.importer import ImportRefused, import_json
    from bot.store.repositories import Store

    store = Store(data_dir, url)
    try:
        counts = import_json(store, args.file)
    except ImportRefused as error:
        print(str(error), file=err)
        return 1
    finally:
        store.close()
    where = describe(url) if url else str(data_dir / "bot.db")
    print(f"imported {args.file} into {where}: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()),
          file=out)
    return 0


def _open_store(err: TextIO) -> tuple[Store | None, Path, str | None]:
    try:
        data_dir, url = storage_settings(os.environ)
    except SettingsError as error:
        print(f"配置错误 / settings error: {error}", file=err)
        return None, Path(), None
    from bot.store.repositories import Store

    return Store(data_dir, url), data_dir, url


def cmd_insight(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`stats --since 30d [--png FILE]` and `export --since … [--until …] --out DIR`, from the store."""
    from bot.insight.chart import draw
    from bot.insight.export import parse_range
    from bot.insight.series import WindowError, parse_days
    from bot.operations.services import build_reports

    try:
        zone = load_timezone(os.environ)
        days = parse_days(args.since) if args.command == "stats" else 0
        span = parse_range([args.since, *([args.until] if args.until else [])], zone) \
            if args.command == "export" else None
    except (WindowError, SettingsError) as error:
        print(f"{args.command}: {error}", file=err)
        return 2
    store, _, _ = _open_store(err)
    if store is None:
        return 2
    try:
        if span is None:
            report = build_reports(store, zone)[0].report(days)
            share = f"{report.share:.0%}" if report.share is not None else "—"
            print(strings.STATS_WINDOW.format(days=days, questions=report.total, answered=report.total_answered,
                                              share=share, up=report.up, down=report.down,
                                              waiting=report.handoffs_open, handled=report.handoffs_answered),
                  file=out)
            for sample, count in report.themes:
                print(f"  {count} × {sample}", file=out)
            if args.png:
                args.png.write_bytes(draw(report).png)
                print(f"chart: {args.png}", file=out)
            return 0
        args.out.mkdir(parents=True, exist_ok=True)
        for name, data in build_reports(store, zone)[1].files(span).items():
            (args.out / name).write_bytes(data)
            print(args.out / name, file=out)
        return 0
    finally:
        store.close()


def load_timezone(environ: Mapping[str, str]) -> ZoneInfo:
    merged = {**read_env_file(Path(".env")), **environ}
    zone = merged.get("QBOT_TZ", "").strip() or "Asia/Shanghai"
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"QBOT_TZ: unknown time zone '{zone}'") from None


def cmd_db_backup(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`db backup FILE` (SQLite: online backup; PostgreSQL: a portable dump) and `db restore FILE`."""
    from bot.operations.backup import BackupError, backup, restore
    from bot.store.db import describe

    try:
        data_dir, url = storage_settings(os.environ)
    except SettingsError as error:
        print(f"配置错误 / settings error: {error}", file=err)
        return 2
    where = describe(url) if url else str(data_dir / "bot.db")
    try:
        if args.db_command == "backup":
            counts = backup(data_dir, url, args.file)
            verb = f"backed up {where} to {args.file}"
        else:
            counts = restore(data_dir, url, args.file, force=args.force)
            verb = f"restored {args.file} into {where}"
    except BackupError as error:
        print(f"{args.db_command}: {error}", file=err)
        return 1
    print(f"{verb}: " + ", ".join(f"{count} {table}" for table, count in counts.items() if count), file=out)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="qbot", description="质量政策问答机器人")
    commands = top.add_subparsers(dest="command")

    def knowledge_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--knowledge", type=Path, default=default_knowledge_dir(), metavar="DIR",
                             help="knowledge folder (default: $QBOT_KNOWLEDGE_DIR or ./knowledge)")

    run = commands.add_parser("run", help="start the bot (console chat when TELEGRAM_BOT_TOKEN is unset)")
    knowledge_option(run)
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    knowledge_option(console)
    ask = commands.add_parser("ask", help="answer each argument as a question, or one per line from stdin with '-'")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.add_argument("--today", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                     help="the date 今年/去年 are read against (default: today in China)")
    ask.add_argument("question", nargs="+",
                     help="one question per argument (quote a question with spaces), or '-' to read stdin")
    knowledge_option(ask)
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_commands.add_parser("check", help="validate every knowledge file")
    check.add_argument("--explain", metavar="FILE", help="also show what the bot read from FILE: years, places, kind")
    knowledge_option(check)
    add = kb_commands.add_parser("add", help="import a raw page (.txt/.md) or entries file (.yaml) into the knowledge")
    add.add_argument("file", type=Path)
    add.add_argument("--yes", "-y", action="store_true", help="write without asking")
    add.add_argument("--dry-run", action="store_true", help="show the changes and the diff, write nothing")
    knowledge_option(add)
    db = commands.add_parser("db", help="database tools")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_import = db_commands.add_parser("import", help="import an old TinyDB bot.json into the database")
    db_import.add_argument("file", type=Path)
    db_backup = db_commands.add_parser("backup", help="write a backup of the database to FILE (while the bot runs)")
    db_backup.add_argument("file", type=Path)
    db_restore = db_commands.add_parser("restore", help="restore a backup FILE into the configured, empty database")
    db_restore.add_argument("file", type=Path)
    db_restore.add_argument("--force", action="store_true", help="replace a database that already holds data")
    stats = commands.add_parser("stats", help="statistics over time, as text and optionally a PNG chart")
    stats.add_argument("--since", default="30d", help="window: 7d, 30d, 365d … (default 30d)")
    stats.add_argument("--png", type=Path, metavar="FILE", help="also draw the chart into FILE")
    export = commands.add_parser("export", help="CSV files (UTF-8 with BOM) of questions, votes, deliveries …")
    export.add_argument("--since", default="30d", help="7d, 30d … or a first day YYYY-MM-DD (default 30d)")
    export.add_argument("--until", metavar="YYYY-MM-DD", help="last day included (with a --since day)")
    export.add_argument("--out", type=Path, default=Path("."), metavar="DIR", help="folder for the files")
    history = kb_commands.add_parser("history", help="list knowledge changes, newest first")
    history.add_argument("--limit", type=int, default=20, help="how many changes to show (default 20)")
    knowledge_option(history)
    rollback = kb_commands.add_parser("rollback", help="undo the latest knowledge change (asks first)")
    rollback.add_argument("--yes", "-y", action="store_true", help="undo without asking")
    knowledge_option(rollback)
    return top


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    logging.basicConfig(level=(os.environ.get("QBOT_LOG_LEVEL") or "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)  # it announces its dictionary at DEBUG
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request URL, token included
    logging.getLogger("bot.audit").setLevel(logging.INFO)  # who did what is shown at every level
    args = parser().parse_args(argv)
    try:
        return dispatch(args, stdin, out, err)
    except KnowledgeUnavailable as error:
        print(strings.KNOWLEDGE_UNAVAILABLE[error.reason].format(folder=error.folder), file=err)
        return 2
    except KeyboardInterrupt:  # Ctrl-C anywhere (building the index, a prompt): no traceback
        print(file=err)
        return 130


def dispatch(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    if args.command in (None, "run"):
        if args.command is None:
            args.knowledge = default_knowledge_dir()
        return cmd_run(args, stdin, out, err)
    if args.command == "console":
        return cmd_console(args, stdin, out, err)
    if args.command == "ask":
        return cmd_ask(args, stdin, out, err)
    if args.command == "db":
        if args.db_command in ("backup", "restore"):
            return cmd_db_backup(args, out, err)
        return cmd_db_import(args, out, err)
    if args.command in ("stats", "export"):
        return cmd_insight(args, out, err)
    if args.kb_command == "add":
        return cmd_kb_add(args, stdin, out, err)
    if args.kb_command == "history":
        return cmd_kb_history(args, out)
    if args.kb_command == "rollback":
        return cmd_kb_rollback(args, stdin, out)
    return cmd_kb_check(args, out, err)
