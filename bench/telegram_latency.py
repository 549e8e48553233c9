"""Time from an update being queued on the local Bot API server to the bot's answer arriving.

Run with `make bench-telegram`: starts the suite's fake Bot API server and the real bot process,
asks the dev and holdout questions one after another, prints median / p95 / max.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fakes import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "424242:BENCH-SECRET-TOKEN-abcdef"


def main() -> None:
    questions: list[str] = []
    for name in ("dev.jsonl", "holdout/questions.jsonl"):
        with (ROOT / "tests" / "data" / name).open(encoding="utf-8") as handle:
            questions.extend(json.loads(line)["q"] for line in handle if line.strip())
    with tempfile.TemporaryDirectory() as work, FakeTelegram(token=TOKEN) as server:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.base_url,
               "QBOT_DATA_DIR": str(Path(work) / "data"), "QBOT_KNOWLEDGE_DIR": str(ROOT / "knowledge"),
               "QBOT_FLOOD_MESSAGES": "100000", "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], cwd=work, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server.wait_for("setMyCommands", timeout=120, after=0)
            print(f"process start to ready   {time.perf_counter() - started:.2f} s")
            timings: list[float] = []
            for number, question in enumerate(questions):
                user = 10_000 + number
                mark = server.mark()
                begin = time.perf_counter()
                server.push_message(user, question)
                server.wait_for("sendMessage", lambda c, user=user: c.params["chat_id"] == user, timeout=30,
                                after=mark)
                timings.append((time.perf_counter() - begin) * 1000)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    timings.sort()
    print(f"questions                {len(timings)}")
    print(f"median update -> answer  {statistics.median(timings):.0f} ms")
    print(f"p95 update -> answer     {timings[int(len(timings) * 0.95)]:.0f} ms")
    print(f"max update -> answer     {timings[-1]:.0f} ms")


if __name__ == "__main__":
    main()
