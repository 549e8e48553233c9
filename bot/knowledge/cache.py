"""Work done once per file, kept on disk next to the knowledge and keyed by content.

Reading a file (YAML, cleaning a page), cutting a page into units with their slots, and the terms of
every unit (bigrams, and words as the segmenter cuts them) depend only on the file's content and on
the code that does it; the segmentation also depends on the knowledge's own vocabulary. Each part is
stored under a key made of those, so a start-up with nothing changed reads them back instead of
redoing them, and a changed or uploaded file redoes only its own. The whole-corpus parts (the
tantivy index, document frequencies) are keyed by every part they are made of.

Nothing is opened until `use_cache(folder)` is called (the faces do, at start-up); without it every
build is a fresh one. A cache that cannot be written (read-only disk) is logged once and skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import pickle
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_FOLDER = ".index"  # below the knowledge folder: the loader and the watcher skip '.' folders
_ROOT = Path(__file__).resolve().parents[1]


def code_files() -> list[Path]:
    """The modules whose output the cache keeps: reading and cleaning pages, units, slots, index."""
    files = [path for folder in ("knowledge", "answers") for path in sorted((_ROOT / folder).glob("*.py"))]
    return [*files, _ROOT / "text.py", _ROOT / "strings.py"]


def code_version() -> str:
    """A digest of the code whose output is cached: a change to cleaning, slots or units rebuilds."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        import jieba
        import tantivy

        digest = hashlib.sha256()
        for path in code_files():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        digest.update(f"{jieba.__version__}/{getattr(tantivy, '__version__', '')}".encode())
        with contextlib.suppress(metadata.PackageNotFoundError):  # passages are cut by jieba-rs when it is there
            digest.update(f"/rjieba {metadata.version('rjieba')}".encode())
        _CODE_VERSION = digest.hexdigest()[:16]
    return _CODE_VERSION


_CODE_VERSION: str | None = None


def digest(*parts: bytes | str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()[:32]


class PartCache:
    """Immutable parts by (kind, key) in one SQLite file; one connection, serialised by a lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.version = code_version()
        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "parts.sqlite", check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS parts (kind TEXT, key TEXT, value BLOB, PRIMARY KEY (kind, key))")

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, object]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, object] = {}
        with self.lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(f"SELECT key, value FROM parts WHERE kind = ? AND key IN ({marks})",
                                       (self._kind(kind), *chunk)).fetchall()
                for key, value in rows:
                    try:
                        found[key] = pickle.loads(value)
                    except Exception:  # a damaged part is redone, never fatal
                        log.warning("unreadable cached %s part %s", kind, key)
        return found

    def known(self, kind: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` have a part of `kind`, without reading the parts."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(key for (key,) in self.db.execute(
                    f"SELECT key FROM parts WHERE kind = ? AND key IN ({marks})", (self._kind(kind), *chunk)))
        return found

    def get(self, kind: str, key: str) -> object | None:
        return self.get_many(kind, [key]).get(key)

    def put_many(self, kind: str, items: dict[str, object]) -> None:
        if not items:
            return
        rows = [(self._kind(kind), key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
                for key, value in items.items()]
        with self.lock:
            try:
                self.db.execute("BEGIN")
                self.db.executemany("INSERT OR REPLACE INTO parts VALUES (?, ?, ?)", rows)
                self.db.execute("COMMIT")
            except sqlite3.Error as error:
                log.warning("cannot store %s parts: %s", kind, error)
                self.db.execute("ROLLBACK") if self.db.in_transaction else None

    def put(self, kind: str, key: str, value: object) -> None:
        self.put_many(kind, {key: value})

    def _kind(self, kind: str) -> str:
        return f"{kind}@{self.version}"

    def replace_only(self, kind: str, key: str, value: object) -> None:
        """Stores `value` as the one part of `kind` (whole-corpus parts: the old ones are useless)."""
        self.forget(kind)
        self.put(kind, key, value)

    def has(self, kind: str) -> bool:
        with self.lock:
            row = self.db.execute("SELECT 1 FROM parts WHERE kind = ? LIMIT 1", (self._kind(kind),)).fetchone()
        return row is not None

    def forget(self, kind: str, prefix: bool = False) -> None:
        """Drops every part of `kind` (with `prefix`, of every kind starting so)."""
        with self.lock:
            if prefix:
                self.db.execute("DELETE FROM parts WHERE kind LIKE ?", (f"{kind}%@{self.version}",))
            else:  # by equality, which the primary key finds: LIKE would read every row's value
                self.db.execute("DELETE FROM parts WHERE kind = ?", (self._kind(kind),))

    def forget_other_versions(self) -> None:
        """Parts made by other code are never read again."""
        with self.lock:
            self.db.execute("DELETE FROM parts WHERE kind NOT LIKE ?", (f"%@{self.version}",))

    def index_folder(self) -> Path:
        """The one tantivy index of this cache; it is updated page by page as the knowledge changes."""
        return self.folder / f"tantivy-{self.version}"

    def drop_index_folders(self, keep: Path) -> None:
        """Removes indexes of other corpora, and half-built ones whose builder is gone."""
        for folder in self.folder.glob("tantivy-*"):
            if folder == keep or not folder.is_dir():
                continue
            if folder.name.endswith(".tmp") and _alive(folder.name.split(".")[-3]):
                continue  # another process (or thread) is building it
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        with self.lock:
            self.db.close()


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


_ACTIVE: PartCache | None = None
_ACTIVE_LOCK = threading.Lock()


def use_cache(folder: Path | None) -> PartCache | None:
    """Makes `folder` (usually knowledge/.index) this process's cache; None turns caching off."""
    global _ACTIVE
    with _ACTIVE_LOCK:
        if _ACTIVE is not None and (folder is None or _ACTIVE.folder != folder):
            _ACTIVE.close()
            _ACTIVE = None
        if folder is not None and _ACTIVE is None:
            try:
                _ACTIVE = PartCache(folder)
                _ACTIVE.forget_other_versions()
            except (OSError, sqlite3.Error) as error:
                log.warning("no index cache in %s: %s", folder, error)
        return _ACTIVE


def active() -> PartCache | None:
    return _ACTIVE


# --- per-file work in worker processes ------------------------------------------------------------
_JOB: tuple[Callable, Sequence] | None = None
_JOB_LOCK = threading.Lock()
WORKER_NICE = 10  # workers' priority below a process that answers questions
_SERVING = False


def serving() -> None:
    """From now on this process answers questions (LiveKnowledge says so): work it hands to worker
    processes runs below it. Before that (a start-up's first build, `ask`, a benchmark's build) there is
    nobody to make way for, and lowering the workers would only slow the build whenever anything else
    runs on the machine."""
    global _SERVING
    _SERVING = True


def _worker_start() -> None:
    if _SERVING:  # a rebuild must not slow the citizens the parent process is answering
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICE)


def _run(bounds: tuple[int, int]) -> list:
    assert _JOB is not None
    work, items = _JOB
    return [work(items[number]) for number in range(*bounds)]


def parallel_map(work: Callable, items: Sequence, at: int) -> list:
    """[work(item) for item in items], in forked worker processes when there are at least `at` items.
    Cleaning pages, cutting them into passages and segmenting them is pure Python holding the GIL: in
    workers it uses every core, and the parent stays free to answer. The workers inherit `work` and
    `items` (and a loaded segmenter) by forking, so only results travel; they must be picklable."""
    global _JOB
    workers = min(os.cpu_count() or 1, 8)
    if len(items) < at or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [work(item) for item in items]
    size = max(1, -(-len(items) // (workers * 8)))
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    with _JOB_LOCK:  # one job at a time: the workers read it from the memory they were forked with
        _JOB = (work, items)
        try:
            with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start) as pool:
                parts = pool.map(_run, bounds, chunksize=1)
        except OSError as error:  # no processes to be had: work here
            log.warning("working in this process: %s", error)
            parts = [[work(item) for item in items]]
        finally:
            _JOB = None
    return [result for part in parts for result in part]
