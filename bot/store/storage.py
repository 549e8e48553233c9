"""A TinyDB storage that never leaves a half-written file.

Each write goes to a temporary file that is flushed and fsynced, the previous file is kept as
`<name>.bak`, and the new one is renamed into place; the folder is fsynced so the rename survives a
power cut. At start an unreadable file is moved aside (never silently replaced) and the last good
copy is used. Files are private to the user running the bot (folder 0700, files 0600).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

log = logging.getLogger(__name__)
# One lock per file, shared by every storage object opened on it in this process.
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def private_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class AtomicJSONStorage(Storage):
    """JSON on disk, replaced atomically on every write; Chinese kept readable (no \\u escapes)."""

    def __init__(self, path: str | Path, **_: Any) -> None:
        self.path = Path(path)
        self.backup = self.path.with_name(self.path.name + ".bak")
        private_folder(self.path.parent)
        with _LOCKS_GUARD:
            self.lock = _LOCKS.setdefault(self.path.resolve(), threading.Lock())
        self._text: str | None = self._recover()

    def _load(self, path: Path) -> str | None:
        """The file's text if it parses as a JSON object; None when it does not exist."""
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            raise ValueError("empty file")
        if not isinstance(json.loads(text), dict):
            raise ValueError("not a JSON object")
        return text

    def _recover(self) -> str | None:
        for candidate in (self.path, self.backup):
            if not candidate.exists():
                continue
            try:
                text = self._load(candidate)
            except (OSError, ValueError) as error:
                aside = candidate.with_name(f"{candidate.name}.corrupt-{int(time.time())}")
                os.replace(candidate, aside)
                log.error("database file %s is unreadable (%s); moved aside to %s", candidate, error, aside.name)
                continue
            if candidate is self.backup:
                log.warning("using last good copy %s for %s", candidate.name, self.path.name)
                self._write_text(text)
            return text
        return None

    def read(self) -> dict[str, dict[str, Any]] | None:
        with self.lock:
            return json.loads(self._text) if self._text else None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            self._write_text(text)
            self._text = text

    def _write_text(self, text: str) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if self.path.exists():
                os.replace(self.path, self.backup)
            os.replace(temporary, self.path)
            _fsync_folder(self.path.parent)
        finally:
            if temporary.exists():
                temporary.unlink()

    def close(self) -> None:
        """Nothing stays open between writes."""
