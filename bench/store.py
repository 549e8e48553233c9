"""The store at size, on SQLite and PostgreSQL, and the bot under load. `make bench-store`.

For each backend: a database with 100,000 subscribers and 1,000,000 logged questions (plus votes,
unanswered questions and 180 days of daily counts), then, from an event loop the way the bot calls
the store (`Store.call`, on the store's threads):
- record_question: logging a question with its three suggestion buttons (one transaction, committed
  without waiting for the disk: see Database.write), 1,000 times;
- subscribe: 1,000 new subscriptions (each commit waits for the disk);
- stats: the /stats figures, 50 times;
while a probe task measures how late the event loop wakes up (max_loop_stall_ms).
Then load_50x20: the real bot process (SQLite) against the suite's local Bot API server, 50 users
sending 20 questions each, all 1,000 queued at once; time from each update being queued to its
answer. And load_50_users_waiting: the same 50 users and 20 questions each, but each user sends
the next question only once the previous answer has arrived (50 conversations at once).

PostgreSQL: QBOT_TEST_DATABASE_URL when set, otherwise a throw-away server from the installed
binaries (as the tests do, but with fsync on); skipped with one line when there is neither.
Prints the figures and writes bench/store.json. Fixed seed. `--load-only` runs the two load
figures alone (about 30 s) and only prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bot.store import schema as t
from bot.store.repositories import Store, day_of
from tests.pg import Server

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBERS = 100_000
QUESTIONS = 1_000_000
VOTES = 100_000
UNANSWERED = 20_000
DAYS = 180
CHUNK = 50_000
SAMPLES = {"record_question": 1_000, "subscribe": 1_000, "stats": 50}
WORDS = ["质量月", "质量强国", "质量发展纲要", "检验检测", "标准化", "品牌", "计量", "认证", "郴州", "湖南"]
SUGGESTIONS = ["质量月是什么？", "《质量发展纲要》是什么？", "什么是质量强国？"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def figures(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(values), 2), "p95_ms": round(percentile(values, 0.95), 2)}


# --- filling a database -------------------------------------------------------------------------
def _question_rows(rng: random.Random, start: float) -> Any:
    for number in range(QUESTIONS):
        matched = rng.random() < 0.8
        at = start + number * (DAYS * 86400 / QUESTIONS)
        yield (rng.randrange(1, 200_000), f"{rng.choice(WORDS)}{rng.choice(WORDS)}问题{number}", matched,
               rng.randrange(0, 100), rng.choice(WORDS) if matched else None, at)


def fill(store: Store, seed: int = 20261203) -> None:
    rng = random.Random(seed)
    now = time.time()
    start = now - DAYS * 86400
    columns = ("user_id", "question", "matched", "score", "answer_key", "at")
    days: dict[str, list[int]] = {}
    with store.engine.begin() as connection:
        connection.execute(insert(t.subscriptions), [{"chat_id": chat, "active": True, "since": start}
                                                     for chat in range(1, SUBSCRIBERS + 1)])
        connection.execute(insert(t.users), [{"id": user, "name": "用户", "first_seen": start}
                                             for user in range(1, SUBSCRIBERS + 1)])
    if store.dialect == "postgresql":
        raw = store.engine.raw_connection()
        try:
            with raw.cursor() as cursor, cursor.copy(f"COPY questions ({', '.join(columns)}) FROM STDIN") as copy:
                for row in _question_rows(rng, start):
                    copy.write_row(row)
                    day = days.setdefault(day_of(row[5]), [0, 0])
                    day[0] += 1
                    day[1] += int(row[2])
            raw.commit()
        finally:
            raw.close()
    else:
        batch: list[dict[str, Any]] = []
        for row in _question_rows(rng, start):
            batch.append(dict(zip(columns, row, strict=True)))
            day = days.setdefault(day_of(row[5]), [0, 0])
            day[0] += 1
            day[1] += int(row[2])
            if len(batch) == CHUNK:
                with store.engine.begin() as connection:
                    connection.execute(insert(t.questions), batch)
                batch = []
        if batch:
            with store.engine.begin() as connection:
                connection.execute(insert(t.questions), batch)
    with store.engine.begin() as connection:
        connection.execute(insert(t.votes), [{"question_id": number, "user_id": number % 200_000 + 1,
                                              "helpful": number % 4 != 0, "day": day_of(start), "at": start}
                                             for number in range(1, VOTES + 1)])
        connection.execute(insert(t.unanswered), [{"key": f"未答{number}", "sample": f"未答问题{number}",
                                                   "count": rng.randrange(1, 50), "first": start, "last": now,
                                                   "status": "open"} for number in range(UNANSWERED)])
        connection.execute(insert(t.daily_stats), [{"day": day, "questions": q, "answered": a, "up": 0, "down": 0}
                                                   for day, (q, a) in days.items()])
        connection.execute(text("ANALYZE"))
    # The fill is one bulk load; a store that grew over months has checkpointed along the way, so the
    # load's checkpoint is not left to land inside the measurement.
    raw = store.engine.raw_connection()  # outside a transaction: neither statement may run inside one
    try:
        if store.dialect == "postgresql":
            raw.driver_connection.autocommit = True
        cursor = raw.cursor()
        cursor.execute("CHECKPOINT" if store.dialect == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()


# --- measuring ----------------------------------------------------------------------------------
class StallProbe:
    """Wakes every 5 ms; the largest lateness is how long something held the event loop."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.running = True

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running:
            before = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, (loop.time() - before - 0.005) * 1000)


async def timed(calls: int, action: Any) -> list[float]:
    timings = []
    for number in range(calls):
        begin = time.perf_counter()
        await action(number)
        timings.append((time.perf_counter() - begin) * 1000)
    return timings


async def measure(store: Store) -> dict[str, Any]:
    probe = StallProbe()
    probe_task = asyncio.ensure_future(probe.run())
    await asyncio.sleep(0.05)

    async def record(number: int) -> None:
        await store.call(store.record_answer, 300_000 + number, f"质量月问题{number}", number % 5 != 0, 80, "质量月",
                         SUGGESTIONS, 86400.0)

    async def subscribe(number: int) -> None:
        assert await store.call(store.subscriptions.subscribe, SUBSCRIBERS + 1 + number)

    def read_stats() -> Any:
        return store.questions.stats(subscribers=store.subscriptions.count_active(), users=store.users.count())

    async def stats(number: int) -> None:
        result = await store.call(read_stats)
        assert result.questions >= QUESTIONS

    results = {
        "record_question": figures(await timed(SAMPLES["record_question"], record)),
        "subscribe": figures(await timed(SAMPLES["subscribe"], subscribe)),
        "stats": figures(await timed(SAMPLES["stats"], stats)),
    }
    probe.running = False
    await probe_task
    return {"subscribers": SUBSCRIBERS, "questions": QUESTIONS, **results,
            "max_loop_stall_ms": round(probe.worst, 2)}


def backend(label: str, data_dir: Path, url: str | None) -> dict[str, Any]:
    store = Store(data_dir, url=url)
    try:
        started = time.perf_counter()
        fill(store)
        print(f"{label}: filled in {time.perf_counter() - started:.0f} s", flush=True)
        gc.collect()  # the filler's million rows are garbage the bot itself would never have
        result = asyncio.run(measure(store))
    finally:
        store.close()
    print(f"{label}: record_question p50 {result['record_question']['p50_ms']} ms, "
          f"p95 {result['record_question']['p95_ms']} ms; subscribe p50 {result['subscribe']['p50_ms']} ms, "
          f"p95 {result['subscribe']['p95_ms']} ms; stats p50 {result['stats']['p50_ms']} ms, "
          f"p95 {result['stats']['p95_ms']} ms; max loop stall {result['max_loop_stall_ms']} ms", flush=True)
    return result


def load_50x20() -> tuple[dict[str, Any], dict[str, Any]]:
    """50 users x 20 questions on the local Bot API server; the real bot answers. First all 1,000
    queued at once, then 50 conversations where each user waits for the answer before asking again."""
    from tests.botproc import BotProcess
    from tests.fakes import FakeTelegram

    questions = [json.loads(line)["q"] for line in (ROOT / "tests" / "data" / "dev.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(5020)
    with tempfile.TemporaryDirectory() as folder, FakeTelegram(token="727272:BENCH-STORE-TOKEN") as server:
        bot = BotProcess(server, Path(folder), QBOT_FLOOD_MESSAGES="100000", QBOT_LOG_LEVEL="WARNING").start()
        try:
            users = list(range(800_001, 800_051))
            mark = server.mark()
            pushed: dict[int, list[float]] = {user: [] for user in users}
            for _ in range(20):
                for user in users:
                    pushed[user].append(time.time())
                    server.push_message(user, rng.choice(questions))
            at_once: list[float] = []
            for user in users:
                after = mark
                for sent_at in pushed[user]:
                    reply = server.wait_for("sendMessage", lambda c, user=user: c.params["chat_id"] == user,
                                            timeout=300, after=after)
                    at_once.append((reply.time - sent_at) * 1000)
                    after = reply.index + 1
            waiting: list[float] = []
            threads = [threading.Thread(target=_conversation, args=(server, user, questions, waiting))
                       for user in range(900_001, 900_051)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            bot.stop()
    first = {"users": 50, "questions_each": 20, **figures(at_once), "max_ms": round(max(at_once), 1)}
    second = {"users": 50, "questions_each": 20, **figures(waiting), "max_ms": round(max(waiting), 1)}
    print(f"load_50x20 (all queued at once): {len(at_once)} answers, p50 {first['p50_ms']} ms, "
          f"p95 {first['p95_ms']} ms, max {first['max_ms']} ms", flush=True)
    print(f"load_50_users_waiting (each waits for its answer): {len(waiting)} answers, p50 {second['p50_ms']} ms, "
          f"p95 {second['p95_ms']} ms, max {second['max_ms']} ms", flush=True)
    return first, second


def _conversation(server: Any, user: int, questions: list[str], timings: list[float]) -> None:
    rng = random.Random(user)
    for _ in range(20):
        mark = server.mark()
        begin = time.time()
        server.push_message(user, rng.choice(questions))
        reply = server.wait_for("sendMessage", lambda c: c.params["chat_id"] == user, timeout=300, after=mark)
        timings.append((reply.time - begin) * 1000)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__.split("\n")[0])
    parser.add_argument("--load-only", action="store_true",
                        help="only load_50x20 and load_50_users_waiting, printed; bench/store.json is left as it is "
                             "(its figures come from one whole run)")
    if parser.parse_args(argv).load_only:
        load_50x20()
        return
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = backend("sqlite", Path(folder) / "data", None)
    server = Server.start(durable=True)  # fsync on, like a real server
    if server is None:
        print("postgresql: skipped (no QBOT_TEST_DATABASE_URL and no initdb/pg_ctl)")
    else:
        try:
            results["postgresql"] = backend("postgresql", Path(tempfile.gettempdir()), server.new_database())
        finally:
            server.stop()
    results["load_50x20"], results["load_50_users_waiting"] = load_50x20()
    output = ROOT / "bench" / "store.json"
    output.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written to {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
