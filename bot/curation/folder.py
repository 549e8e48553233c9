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
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bot import strings
from bot.answers.units import article_units
from bot.audit import audit
from bot.curation.review import add_alternative
from bot.curation.watcher import DiskWatcher
from bot.files import atomic_write, fsync_folder
from bot.knowledge.loader import (
    LoadResult,
    age_order,
    build_snapshot,
    decode_with_encoding,
    is_article,
    knowledge_files,
    read_folder,
)
from bot.knowledge.model import Entry, Snapshot
from bot.knowledge.schema import Problem

log = logging.getLogger(__name__)

HISTORY = ".history"



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
    collection walks every live object (seconds at 100k passages) while holding the GIL. The new
    engine then joins the objects frozen at start-up, out of later full collections' way (the old
    one, frozen too, is freed by its reference counts all the same)."""
    gc.collect(1)
    gc.freeze()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).malloc_trim(0)


class KnowledgeFolder:
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
                raise StaleChange(change.path)
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
            summary = strings.HISTORY_UNDO.format(id=last.id, summary=last.summary)
            record = self._record("rollback", last.path, who, current, summary)
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
            raise ValueError(f"no entry {entry_id}")
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
        fsync_folder(self.history_folder)
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
            parts.append(strings.HISTORY_ARTICLE.format(title=change.article[0], passages=change.article[2]))
        for label, ids in zip(strings.HISTORY_COUNTS, (change.added, change.changed, change.removed), strict=True):
            if ids:
                parts.append(label.format(count=len(ids)))
        return strings.HISTORY_SUMMARY.format(path=change.path,
                                              parts="，".join(parts) or strings.HISTORY_UNCHANGED)


