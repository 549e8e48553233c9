"""Living with a large knowledge folder: build, cold start, one-file reload, memory over reloads, and what
citizens feel while the knowledge is rebuilt. Run by `python -m bench.scale` in a child process per size
(`--lifecycle SIZE --out FILE`), on a private copy of the set so its index cache starts empty.

- full_rebuild_s: load + clean + index from nothing (empty cache), dictionary already loaded; the cache is
  filled on the way.
- cold_start_s: the whole process `run_bot.py ask 质量月是几月` with that cache (first run and best of 3).
- reload_one_file_s: one page edited (a sentence added), then load + clean + index, as /reload or an upload
  does; median of RELOADS, each a different edit.
- rss_after_1_reload_mb / rss_after_10_reloads_mb: RSS after the first and the tenth of those reloads, the
  previous engine dropped each time (as LiveKnowledge.replace does).
- p95 quiet / during a reload loop / during a full rebuild: citizens' questions on the main thread while a
  thread rebuilds (one-file reloads back to back; a full rebuild into an empty cache).
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RELOADS = 10
QUESTION = "质量月是几月"


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(0.95 * len(ordered) + 0.999999) - 1)] if ordered else 0.0


def measure(folder: Path, questions: list[str], root: Path) -> dict:
    from bot.answers.engine import Engine
    from bot.answers.live import LiveKnowledge
    from bot.answers.query import base_tokenizer
    from bot.curation.folder import KnowledgeFolder
    from bot.knowledge import cache, loader

    base_tokenizer()  # once per process, as in the bot
    with tempfile.TemporaryDirectory(prefix="bench-life-") as tmp:
        work = Path(tmp) / "knowledge"
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".*"))
        pages = sorted((work / "articles").glob("gen_*.txt")) or sorted((work / "articles").glob("*.txt"))
        record: dict[str, object] = {}

        def build() -> Engine:
            return Engine(loader.load_folder(work).snapshot)

        # Full rebuild from nothing.
        loader._READ_CACHE.clear()
        cache.use_cache(work / cache.CACHE_FOLDER)
        started = time.perf_counter()
        engine = build()
        record["full_rebuild_s"] = round(time.perf_counter() - started, 2)

        knowledge = LiveKnowledge(engine)
        del engine

        def ask_all(rounds: int = 1) -> list[float]:
            timings = []
            for _ in range(rounds):
                for question in questions:
                    begin = time.perf_counter()
                    knowledge.engine.answer_afresh(question)  # not the engine's recent answers
                    timings.append((time.perf_counter() - begin) * 1000)
            return timings

        ask_all()  # warm
        record["p95_quiet_ms"] = round(_p95(ask_all(2)), 2)

        # One-file reloads through the bot's own path (KnowledgeFolder.reload swapping LiveKnowledge's
        # engine): each adds a different sentence to one page.
        manager = KnowledgeFolder(work, lambda: knowledge.snapshot, knowledge.replace)
        reloads: list[float] = []
        target = pages[len(pages) // 2]
        original = target.read_text(encoding="utf-8")
        for number in range(RELOADS):
            target.write_text(original + f"\n  第{number + 1}次修订：本页补充说明{number + 101}项质量提升措施。\n",
                              encoding="utf-8")
            started = time.perf_counter()
            assert manager.reload().ok
            reloads.append(time.perf_counter() - started)
            gc.collect()
            if number == 0:
                record["rss_after_1_reload_mb"] = round(_rss_mb(), 1)
        record["rss_after_10_reloads_mb"] = round(_rss_mb(), 1)
        record["reload_one_file_s"] = round(statistics.median(reloads), 2)
        record["reload_one_file_max_s"] = round(max(reloads), 2)

        # Citizens while a thread reloads back to back.
        stop = threading.Event()

        def reload_loop() -> None:
            number = 0
            while not stop.is_set():
                target.write_text(original + f"\n  补充{number}：新增{number + 7}家企业。\n", encoding="utf-8")
                manager.reload()
                number += 1

        worker = threading.Thread(target=reload_loop)
        worker.start()
        during = ask_all(2)
        stop.set()
        worker.join()
        record["p95_during_reloads_ms"] = round(_p95(during), 2)

        # Citizens while a thread rebuilds everything into an empty cache.
        cache.use_cache(Path(tmp) / "empty-cache")
        loader._READ_CACHE.clear()
        worker = threading.Thread(target=lambda: knowledge.replace(loader.load_folder(work).snapshot))
        worker.start()
        during = []
        while worker.is_alive():
            during.extend(ask_all())
        worker.join()
        record["p95_during_full_rebuild_ms"] = round(_p95(during), 2)
        cache.use_cache(None)

        # Cold start of a whole process on the cache built above (the last edit left in place).
        cache.use_cache(work / cache.CACHE_FOLDER)
        build()  # the cache for the folder as it is now
        cache.use_cache(None)
        env = {**os.environ, "QBOT_KNOWLEDGE_DIR": str(work), "QBOT_INDEX_CACHE": "1"}
        starts = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(root / "run_bot.py"), "ask", QUESTION], cwd=root, env=env,
                           check=True, capture_output=True)
            starts.append(time.perf_counter() - started)
        record["cold_start_s"] = round(starts[0], 2)
        record["cold_start_best_s"] = round(min(starts), 2)
        return record
