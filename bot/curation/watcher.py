"""Noticing changes to the knowledge folder as the kernel reports them, off the event loop."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot.knowledge.loader import ARTICLE_FOLDER, is_knowledge_file

log = logging.getLogger(__name__)


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
