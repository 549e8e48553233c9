"""Building new knowledge in another process: `python -m bot.answers.aside CACHE VERSION SNAPSHOT`.

A full rebuild (every page cut, counted and indexed again) holds the GIL for many seconds, and the
citizens the bot is answering meanwhile wait for it. `build_aside` has a fresh interpreter, below the
bot's priority, make the snapshot's parts and tantivy index in the index cache; the engine the bot then
builds itself only opens them. A fresh interpreter rather than a fork of the bot: a fork of a threaded
process may inherit a lock another thread held (SQLite's among them), and must not use SQLite at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bot.knowledge import cache as part_cache
from bot.knowledge.model import Snapshot

log = logging.getLogger(__name__)

NICE = 10  # the builder's priority below the bot's: citizens' answers keep the CPU
LIMIT_S = 900.0  # a builder still at work after this is stopped, and the bot builds itself
CHUNK = 200  # articles pickled per call: each call holds the GIL, so short ones let answers through
_ROOT = Path(__file__).resolve().parents[2]


def build_aside(snapshot: Snapshot) -> bool:
    """Has another process build `snapshot` into the active index cache; True when it did. Without an
    index cache there is nothing to hand over: False, and the caller builds everything itself."""
    cache = part_cache.active()
    if cache is None:
        return False
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qbot-aside-") as scratch:
        path = Path(scratch) / "snapshot.pickle"
        with path.open("wb") as handle:
            pickle.dump(replace(snapshot, articles=()), handle, protocol=pickle.HIGHEST_PROTOCOL)
            for start in range(0, len(snapshot.articles), CHUNK):
                pickle.dump(snapshot.articles[start : start + CHUNK], handle, protocol=pickle.HIGHEST_PROTOCOL)
        command = [sys.executable, "-m", "bot.answers.aside", str(cache.folder), cache.version, str(path)]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(_ROOT), os.environ.get("PYTHONPATH", "")]))}
        try:
            process = subprocess.Popen(command, cwd=_ROOT, env=environment, stdin=subprocess.DEVNULL)
        except OSError as error:
            log.warning("building here, no builder process: %s", error)
            return False
        try:
            code = process.wait(timeout=LIMIT_S)
        except subprocess.TimeoutExpired:
            log.warning("the knowledge builder took over %.0f s; building here", LIMIT_S)
            process.kill()
            code = process.wait()
    from bot.answers import index  # the builder's parts are on disk, not in what this process remembers

    index.built_elsewhere()
    log.info("knowledge %s built aside in %.2fs (exit code %s)", snapshot.version, time.perf_counter() - started,
             code)
    return code == 0


def _read(path: Path) -> Snapshot:
    with path.open("rb") as handle:
        head: Snapshot = pickle.load(handle)
        articles: list = []
        while True:
            try:
                articles.extend(pickle.load(handle))
            except EOFError:
                break
    return replace(head, articles=tuple(articles))


def main(argv: list[str] | None = None) -> int:
    folder, version, path = argv if argv is not None else sys.argv[1:]
    with contextlib.suppress(OSError):
        os.nice(NICE)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    if part_cache.code_version() != version:  # other code on disk than the bot runs: its parts are no use
        log.warning("knowledge builder: code %s on disk, the bot runs %s", part_cache.code_version(), version)
        return 3
    from bot.answers.engine import Engine

    part_cache.use_cache(Path(folder))
    Engine(_read(Path(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
