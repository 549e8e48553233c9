"""Start-up time and per-question latency of the engine on the shipped knowledge.

Run with `make bench-answers`. Prints load + index time and median / p95 milliseconds per question
over the test suite's question sets (dev and holdout), asked in order, three rounds.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from pathlib import Path

from bot.knowledge.loader import load_folder
from bot.search.engine import Engine

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    started = time.perf_counter()
    result = load_folder(ROOT / "knowledge")
    loaded = time.perf_counter()
    engine = Engine(result.snapshot)
    built = time.perf_counter()
    questions: list[str] = []
    for name in ("dev.jsonl", "holdout/questions.jsonl"):
        with (ROOT / "tests" / "data" / name).open(encoding="utf-8") as handle:
            questions.extend(json.loads(line)["q"] for line in handle if line.strip())
    timings: list[float] = []
    for _ in range(3):
        for question in questions:
            begin = time.perf_counter()
            engine.ask(question)
            timings.append((time.perf_counter() - begin) * 1000)
    timings.sort()
    print(f"units indexed        {engine.index.size}")
    print(f"load knowledge       {loaded - started:.2f} s")
    print(f"build index          {built - loaded:.2f} s")
    print(f"questions timed      {len(timings)}")
    print(f"median per question  {statistics.median(timings):.1f} ms")
    print(f"p95 per question     {timings[int(len(timings) * 0.95)]:.1f} ms")
    print(f"max per question     {timings[-1]:.1f} ms")


if __name__ == "__main__":
    main()
