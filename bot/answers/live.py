"""The knowledge the bot answers from right now, and who is told when it changes."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.answers import index
from bot.answers.aside import build_aside
from bot.answers.engine import Answer, Engine, today_in_china
from bot.knowledge import cache as part_cache
from bot.knowledge.cache import CACHE_FOLDER, use_cache
from bot.knowledge.loader import load_folder
from bot.knowledge.model import Entry, Snapshot

log = logging.getLogger(__name__)
Listener = Callable[[Snapshot], None]
# From this many pages with nothing in the index cache, new knowledge is first built in another process
# (bot.answers.aside); below it (an edited page or an upload) the build is quick and stays here.
BUILD_ASIDE_PAGES = 300


class LiveKnowledge:
    """Holds the engine for the current knowledge. Replacing it is one assignment (atomic), done only
    after the new engine is fully built, so no question ever sees a half-built index; then every
    listener (the reminders, say) is told about the new snapshot."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.listeners: list[Listener] = []
        part_cache.serving()  # rebuilds from now on make way for the answers

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def replace(self, snapshot: Snapshot) -> None:
        if index.pages_unmade(snapshot) >= BUILD_ASIDE_PAGES:
            build_aside(snapshot)  # then the engine below only opens what it made
        self.engine = Engine(snapshot, today=self.engine.today)
        for listener in self.listeners:
            try:
                listener(snapshot)
            except Exception:  # one listener's failure must not undo the swap or starve the others
                log.exception("a knowledge-change listener failed")

    @property
    def snapshot(self) -> Snapshot:
        return self.engine.snapshot

    def ask(self, question: str) -> Answer:
        return self.engine.ask(question)

    def entries(self, kind: str) -> list[Entry]:
        return [entry for entry in self.engine.snapshot.entries if entry.type == kind]

    def entry(self, entry_id: str) -> Entry | None:
        return next((entry for entry in self.engine.snapshot.entries if entry.id == entry_id), None)


class KnowledgeUnavailable(Exception):
    """The knowledge folder is missing ("missing") or holds nothing to answer from ("empty")."""

    def __init__(self, reason: str, folder: Path) -> None:
        super().__init__(reason)
        self.reason = reason
        self.folder = folder


def load_engine(folder: Path, today: Callable[[], dt.date] = today_in_china,
                cache: bool = True) -> tuple[Engine, int]:
    """The engine over what is valid in `folder`, and how many problems were skipped: one bad file
    must not take the answers down. A missing or empty folder raises KnowledgeUnavailable: a bot that
    answers "没有找到" to all is worse than one that does not start."""
    started = time.perf_counter()
    if not folder.is_dir():
        raise KnowledgeUnavailable("missing", folder)
    if cache:  # pages read, cut and indexed once, by content
        use_cache(folder / CACHE_FOLDER)
    result = load_folder(folder)
    if not result.snapshot.entries and not result.snapshot.articles:
        raise KnowledgeUnavailable("empty", folder)
    engine = Engine(result.snapshot, today=today)
    log.info("knowledge %s loaded and indexed in %.2fs (%d units)", result.snapshot.version,
             time.perf_counter() - started, engine.index.size)
    return engine, len(result.problems)
