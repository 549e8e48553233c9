"""Curation: changing the knowledge while the bot runs. Plan a change, apply it with history, roll
back, attach unanswered questions to entries.

Every change is validated against the whole knowledge before anything is written. Files are
replaced atomically (temporary file, fsync, rename), the previous content is kept under
`.history/`, and the live engine is swapped in one assignment only after the new knowledge has
loaded and indexed, so a question is answered from the old or the new knowledge, never a mix.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from rapidfuzz import fuzz

from bot import strings
from bot.audit import audit
from bot.knowledge.loader import (
    ARTICLE_FOLDER,
    ARTICLE_SUFFIXES,
    ENTRY_SUFFIXES,
    MAX_FILE_BYTES,
    LoadResult,
    age_order,
    build_snapshot,
    decode_with_encoding,
    is_article,
    is_knowledge_file,
    knowledge_files,
    read_folder,
)
from bot.knowledge.model import Entry, Snapshot
from bot.knowledge.schema import Problem
from bot.search.units import article_units

log = logging.getLogger(__name__)

HISTORY = ".history"
_SAFE_NAME = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z_\u4e00-\u9fff .()（）+-]{0,99}$")


class UploadRefused(ValueError):
    """A file that is not even looked at: wrong type, too big, unsafe name. The message says why."""


class StaleChange(ValueError):
    """The file changed between planning and applying (another admin, or an edit on disk)."""


def content_hash(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Change:
    """What writing `data` to `path` would do, worked out before anything is written."""

    path: str
    data: bytes
    problems: tuple[Problem, ...] = ()
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    article: tuple[str, str | None, int] | None = None  # title, date, passages of a raw page
    replaces: bool = False
    base: str | None = None  # content hash of the file the plan was made from; None if it did not exist
    converted_from: str | None = None  # the upload's encoding when it was not UTF-8 (it is saved as UTF-8)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class HistoryRecord:
    id: str
    when: float
    who: int | None
    action: str  # upload | attach | rollback | cli
    path: str
    summary: str
    existed: bool
    undone: bool = False


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def target_path(name: str, size: int) -> str:
    """Where an uploaded file goes, or UploadRefused with the reason."""
    name = name.strip()
    if size > MAX_FILE_BYTES:
        raise UploadRefused(f"文件太大（{size} 字节），上限为 {MAX_FILE_BYTES} 字节。")
    if "/" in name or "\\" in name or ".." in name or not _SAFE_NAME.match(name):
        raise UploadRefused(f"文件名“{name[:60]}”不安全：只能包含文字、数字、空格、-_.()，不能含路径。")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in ENTRY_SUFFIXES:
        return name
    if suffix in ARTICLE_SUFFIXES:
        return f"{ARTICLE_FOLDER}/{name}"
    raise UploadRefused(f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 .yaml、.yml、.txt 或 .md 文件。")


def _comparable(entry: Entry) -> Entry:
    return replace(entry, line=0)


def diff(before: Snapshot, after: Snapshot) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    old = {entry.id: _comparable(entry) for entry in before.entries}
    new = {entry.id: _comparable(entry) for entry in after.entries}
    added = tuple(sorted(set(new) - set(old)))
    removed = tuple(sorted(set(old) - set(new)))
    changed = tuple(sorted(key for key in set(old) & set(new) if old[key] != new[key]))
    return added, changed, removed


def give_back_memory() -> None:
    """After a swap the old engine is garbage: hand freed pages back to the system (glibc keeps them
    otherwise, and the process grows a little with every reload). The engine holds no reference
    cycles, so dropping it frees it; only the young generations are collected, since a full
    collection walks every live object (seconds at 100k passages) while holding the GIL."""
    gc.collect(1)
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).malloc_trim(0)


class DiskWatcher:
    """Notes changes to knowledge files as the kernel reports them (watchfiles: inotify on Linux), on
    a daemon thread, so nothing walks the folder on the event loop. `pending` is set by any change to
    a knowledge file (the cache and history folders are ignored); the manager confirms it against the
    files' signature before reloading, so its own writes are not reported as outside changes. If
    watching cannot start (no inotify, too many watches), `running` turns False and the manager goes
    back to polling."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.pending = False
        self.changed = threading.Event()  # set with `pending`, for those who wait for a change
        self.running = False
        self.ready = threading.Event()  # set once watching has begun (or failed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.running = True
        self._thread = threading.Thread(target=self._run, name="knowledge-watcher", daemon=True)
        self._thread.start()

    def consume(self) -> None:
        self.pending = False
        self.changed.clear()

    def _relevant(self, _change: object, path: str) -> bool:
        try:
            relative = Path(path).resolve().relative_to(self.folder).as_posix()
        except ValueError:
            return False
        return is_knowledge_file(relative) or relative == ARTICLE_FOLDER

    def _run(self) -> None:
        try:
            import watchfiles

            for _changes in watchfiles.watch(self.folder, watch_filter=self._relevant, stop_event=self._stop,
                                             debounce=200, step=50, rust_timeout=500, yield_on_timeout=True,
                                             raise_interrupt=False, ignore_permission_denied=True):
                self.ready.set()
                if _changes:
                    self.pending = True
                    self.changed.set()
        except Exception as error:  # any failure means: poll instead
            log.warning("watching %s failed, polling instead: %s", self.folder, error.__class__.__name__)
        finally:
            self.running = False
            self.ready.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class KnowledgeManager:
    """Owns the knowledge folder while the bot runs. `swap` installs a new snapshot (the face builds
    and swaps the engine); changes are serialised by one lock."""

    def __init__(self, folder: Path, current: Callable[[], Snapshot], swap: Callable[[Snapshot], None]) -> None:
        self.folder = folder
        self.current = current
        self.swap = swap
        self.history_folder = folder / HISTORY
        self.lock = threading.Lock()
        self._clean_history()
        self.signature = self.disk_signature()
        self.watcher: DiskWatcher | None = None

    # --- planning ---------------------------------------------------------------------------
    def plan(self, path: str, data: bytes) -> Change:
        text, _, encoding = decode_with_encoding(path, data)
        converted_from = None
        if text is not None and encoding != "utf-8":  # UTF-16, GB18030: one encoding on disk
            data, converted_from = text.encode("utf-8"), encoding.upper()
        files = read_folder(self.folder)
        ages = age_order(self.folder, files)
        before = build_snapshot(files, ages)
        proposed = {**files, path: data}
        after = build_snapshot(proposed, [*(name for name in ages if name != path), path])  # the upload is newest
        known = {str(problem) for problem in before.problems}
        problems = tuple(problem for problem in after.problems if str(problem) not in known)
        added, changed, removed = diff(before.snapshot, after.snapshot)
        article = None
        if is_article(path):
            page = next((a for a in after.snapshot.articles if a.path == path), None)
            if page is not None:
                article = (page.title, page.source.date, len(article_units(page, 0)))
        return Change(path, data, problems, added, changed, removed, article, replaces=path in files,
                      base=content_hash(files.get(path)), converted_from=converted_from)

    # --- applying ---------------------------------------------------------------------------
    def apply(self, change: Change, who: int | None, action: str = "upload") -> HistoryRecord:
        if not change.ok:
            raise ValueError("refusing to apply a change with problems")
        with self.lock:
            target = self.folder / change.path
            before = target.read_bytes() if target.exists() else None
            # Two admins uploading the same file: the second would silently drop the first one's change.
            if content_hash(before) != change.base:
                raise StaleChange(strings.FILE_CHANGED_SINCE_PLAN)
            record = self._record(action, change.path, who, before, self._summary(change))
            atomic_write(target, change.data)
            result = self._reload_locked()
            if not result.ok:  # cannot happen after a clean plan, unless the disk changed meanwhile
                self._restore(change.path, before)
                self._reload_locked()
                raise ValueError("; ".join(map(str, result.problems[:3])))
            audit(f"knowledge.{action}", history=record.id, by=who, path=change.path)
            return record

    def rollback(self, who: int | None) -> HistoryRecord | None:
        """Undoes the latest change not yet undone; None when there is nothing to undo."""
        with self.lock:
            last = next((r for r in self.history() if r.action != "rollback" and not r.undone), None)
            if last is None:
                return None
            folder = self.history_folder / last.id
            before = (folder / "before").read_bytes() if last.existed else None
            target = self.folder / last.path
            current = target.read_bytes() if target.exists() else None
            record = self._record("rollback", last.path, who, current, f"撤销 {last.id}：{last.summary}")
            audit("knowledge.rollback", history=record.id, undoes=last.id, by=who, path=last.path)
            self._restore(last.path, before)
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            atomic_write(folder / "meta.json", json.dumps({**meta, "undone": True}, ensure_ascii=False).encode())
            result = self._reload_locked()
            if not result.ok:
                log.error("rollback left problems: %s", "; ".join(map(str, result.problems[:3])))
            return record

    def reload(self) -> LoadResult:
        """Loads the folder as it is on disk; swaps only if every file is valid."""
        with self.lock:
            return self._reload_locked()

    def _reload_locked(self) -> LoadResult:
        files = read_folder(self.folder)
        result = build_snapshot(files, age_order(self.folder, files))
        self.signature = self.disk_signature()
        if result.ok:
            self.swap(result.snapshot)
            give_back_memory()
        return result

    def _restore(self, path: str, content: bytes | None) -> None:
        target = self.folder / path
        if content is None:
            target.unlink(missing_ok=True)
        else:
            atomic_write(target, content)

    # --- disk watching ----------------------------------------------------------------------
    def disk_signature(self) -> tuple[tuple[str, int, int], ...]:
        """Names, sizes and modification times of the knowledge files: cheap to poll."""
        signature = []
        for relative, entry in knowledge_files(self.folder):
            with contextlib.suppress(FileNotFoundError):  # removed since the folder was listed
                stat = entry.stat()
                signature.append((relative, stat.st_size, stat.st_mtime_ns))
        return tuple(signature)

    def changed_on_disk(self) -> bool:
        """Whether the knowledge files differ from those last loaded (walks the folder: call it off
        the event loop). A notice from the watcher is consumed here."""
        if self.watcher is not None:
            self.watcher.consume()
        return self.disk_signature() != self.signature

    def maybe_changed(self) -> bool:
        """Cheap, for the event loop: False only when the watcher is running and has seen no change
        to a knowledge file since the last look; without a watcher, always worth a look."""
        return self.watcher is None or not self.watcher.running or self.watcher.pending

    def watch(self) -> DiskWatcher:
        """Starts watching the folder (inotify through watchfiles, on its own thread)."""
        if self.watcher is None:
            self.watcher = DiskWatcher(self.folder)
            self.watcher.start()
        return self.watcher

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    # --- unanswered questions -------------------------------------------------------------
    def attach(self, entry_id: str, question: str, who: int | None) -> HistoryRecord:
        """Adds `question` to an entry's alternatives in its YAML file, validated and with history."""
        entry = next((e for e in self.current().entries if e.id == entry_id), None)
        if entry is None:
            raise ValueError(f"没有编号为 {entry_id} 的条目")
        text = (self.folder / entry.path).read_text(encoding="utf-8")
        change = self.plan(entry.path, add_alternative(text, entry.line, question).encode("utf-8"))
        if not change.ok:
            raise ValueError("; ".join(map(str, change.problems[:3])))
        return self.apply(change, who, action="attach")

    # --- history ----------------------------------------------------------------------------
    def _record(self, action: str, path: str, who: int | None, before: bytes | None, summary: str) -> HistoryRecord:
        """Writes a history entry whole or not at all: it is filled in a staging folder and renamed into
        place, so a SIGKILL never leaves a numbered folder without its meta.json."""
        self.history_folder.mkdir(parents=True, exist_ok=True)
        number = 1 + max((int(p.name) for p in self.history_folder.iterdir() if p.name.isdigit()), default=0)
        record = HistoryRecord(f"{number:05d}", time.time(), who, action, path, summary, before is not None)
        staging = self.history_folder / f".{record.id}.{os.getpid()}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        if before is not None:
            atomic_write(staging / "before", before)
        atomic_write(staging / "meta.json", json.dumps(record.__dict__, ensure_ascii=False).encode())
        os.rename(staging, self.history_folder / record.id)
        _fsync_folder(self.history_folder)
        return record

    def _clean_history(self) -> None:
        """Removes what a crash left half-written: staging folders, and numbered folders without meta.json
        (written by older versions; their change was never applied, the file is written after the record)."""
        if not self.history_folder.is_dir():
            return
        for folder in self.history_folder.iterdir():
            partial = folder.name.endswith(".partial")
            if folder.is_dir() and (partial or (folder.name.isdigit() and not (folder / "meta.json").exists())):
                log.warning("removing incomplete knowledge history %s", folder.name)
                shutil.rmtree(folder, ignore_errors=True)

    def history(self) -> list[HistoryRecord]:
        """Newest first."""
        if not self.history_folder.is_dir():
            return []
        records = []
        for folder in sorted(self.history_folder.iterdir(), reverse=True):
            meta = folder / "meta.json"
            if folder.name.isdigit() and meta.exists():
                records.append(HistoryRecord(**json.loads(meta.read_text(encoding="utf-8"))))
        return records

    @staticmethod
    def _summary(change: Change) -> str:
        parts = []
        if change.article:
            parts.append(f"文章《{change.article[0]}》{change.article[2]}段")
        for label, ids in (("新增", change.added), ("修改", change.changed), ("删除", change.removed)):
            if ids:
                parts.append(f"{label}{len(ids)}条")
        return f"{change.path}：" + ("，".join(parts) or "内容未变")


def add_alternative(text: str, entry_line: int, question: str) -> str:
    """The YAML text with `question` appended to the `alternatives` of the entry that starts at
    `entry_line` (1-based, the line of its "- "). Edits the text in place, so comments and layout
    stay as the admin wrote them."""
    lines = text.splitlines(keepends=True)
    start = entry_line - 1
    dash = len(lines[start]) - len(lines[start].lstrip(" "))
    field_indent = dash + 2
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.lstrip().startswith("#") and len(line) - len(line.lstrip(" ")) <= dash:
            break
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep blank lines between entries after the insertion
    item = json.dumps(question.strip(), ensure_ascii=False)
    key = re.compile(rf"^ {{{field_indent}}}alternatives:\s*(#.*)?$")
    for number in range(start + 1, end):
        if key.match(lines[number].rstrip("\n")):
            last = number
            item_indent = None
            for follower in range(number + 1, end):
                stripped = lines[follower].lstrip(" ")
                indent = len(lines[follower]) - len(stripped)
                if stripped.startswith("- ") and indent >= field_indent:
                    item_indent = item_indent if item_indent is not None else indent
                    last = follower
                elif stripped.strip() and indent <= field_indent:
                    break
            prefix = " " * (item_indent if item_indent is not None else field_indent + 2)
            lines.insert(last + 1, f"{prefix}- {item}\n")
            return "".join(lines)
    if not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines[end:end] = [f"{' ' * field_indent}alternatives:\n", f"{' ' * (field_indent + 2)}- {item}\n"]
    return "".join(lines)


def group_similar(rows: list[dict], threshold: float = 85.0) -> list[dict]:
    """Unanswered questions merged when their normal forms are near-identical, counts summed."""
    groups: list[dict] = []
    for row in rows:
        for group in groups:
            if fuzz.ratio(row["key"], group["key"]) >= threshold:
                group["count"] += row["count"]
                group["ids"].append(row["id"])
                break
        else:
            groups.append({"key": row["key"], "sample": row["sample"], "count": row["count"], "ids": [row["id"]]})
    return sorted(groups, key=lambda group: -group["count"])
