"""How much one flooding user slows everyone else: `make bench-abuse`.

The real bot on the local Bot API server. A citizen asks 18 questions one after another on a quiet bot;
another asks them while another user has just sent 500 messages in a burst (and keeps sending).
Prints the citizen's median / p95 / max time from update to answer in both cases.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from tests.botproc import BotProcess
from tests.fakes import FakeTelegram

QUESTIONS = [
    "质量月是每年几月", "郴州质量开放日发放了多少宣传单", "湖南有多少家检验检测机构",
    "金华市政府质量奖奖金多少钱", "2017年全国质量月的主题", "郑长征讲座的题目是什么",
] * 3  # 18: under the flood limit of 20 a minute
QUIET_CITIZEN, BUSY_CITIZEN, FLOODER = 20_001, 20_003, 20_002


def timings(bot: BotProcess, citizen: int) -> list[float]:
    result = []
    for question in QUESTIONS:
        started = time.perf_counter()
        bot.ask(citizen, question)
        result.append((time.perf_counter() - started) * 1000)
    return sorted(result)


def describe(label: str, values: list[float]) -> str:
    return (f"| {label} | {statistics.median(values):.0f} | {values[int(len(values) * 0.95)]:.0f} | "
            f"{values[-1]:.0f} |")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, FakeTelegram(token="818181:BENCH-ABUSE-TOKEN") as server:
        bot = BotProcess(server, Path(folder), QBOT_LOG_LEVEL="WARNING").start()
        try:
            quiet = timings(bot, QUIET_CITIZEN)
            for number in range(500):
                server.push_message(FLOODER, f"刷屏消息 {number} 质量月")
            stop = threading.Event()

            def keep_flooding() -> None:
                number = 0
                while not stop.is_set():
                    server.push_message(FLOODER, f"继续刷屏 {number}")
                    number += 1
                    stop.wait(0.01)

            flooder = threading.Thread(target=keep_flooding)
            flooder.start()
            try:
                flooded = timings(bot, BUSY_CITIZEN)
            finally:
                stop.set()
                flooder.join()
            warnings = [c for c in server.calls if c.method == "sendMessage" and c.params["chat_id"] == FLOODER]
        finally:
            bot.stop()
    print("| citizen's questions | median ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- |")
    print(describe("quiet bot", quiet))
    print(describe("another user flooding", flooded))
    print(f"flooder got {len(warnings)} replies (20 answers, then one slow-down notice)")


if __name__ == "__main__":
    main()
