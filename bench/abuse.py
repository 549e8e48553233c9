"""How much one flooding user slows everyone else: `make bench-abuse`.

The real bot on the local Bot API server. A citizen asks 18 questions one after another on a quiet bot;
another asks them while another user has just sent 500 messages in a burst (and keeps sending); a third
asks them while an admin uploads a hostile 1 MB page (one paragraph without 。!?), again as soon as each
check is reported. Prints the citizen's median / p95 / max time from update to answer in each case.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tests.botproc import BotProcess
from tests.conftest import KNOWLEDGE
from tests.fakes import FakeTelegram

QUESTIONS = [
    "质量月是每年几月", "郴州质量开放日发放了多少宣传单", "湖南有多少家检验检测机构",
    "金华市政府质量奖奖金多少钱", "2017年全国质量月的主题", "郑长征讲座的题目是什么",
] * 3  # 18: under the flood limit of 20 a minute
QUIET_CITIZEN, BUSY_CITIZEN, FLOODER = 20_001, 20_003, 20_002
UPLOAD_CITIZEN, ADMIN = 20_004, 20_900
# Just under the 1,000,000-byte upload limit, so it is checked rather than refused for its size; each
# upload gets its own number in the title, so no check is answered from the loader's cache.
HOSTILE_BODY = "质量发展纲要提出质量强国建设" * 23_700


def hostile_page(number: int) -> bytes:
    return f"某市质量月活动第{number}次\n{HOSTILE_BODY}\n".encode()


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


def while_uploading(bot: BotProcess) -> tuple[list[float], list[float]]:
    """The citizen's timings while the admin keeps uploading the hostile page; and each check's time."""
    stop = threading.Event()
    checks: list[float] = []

    def keep_uploading() -> None:
        while not stop.is_set():
            mark = bot.server.mark()
            started = time.perf_counter()
            bot.server.push_document(ADMIN, "hostile.txt", hostile_page(len(checks)))
            bot.server.wait_for("sendMessage", lambda c: c.params["chat_id"] == ADMIN, timeout=300, after=mark)
            checks.append((time.perf_counter() - started) * 1000)

    uploader = threading.Thread(target=keep_uploading)
    mark = bot.server.mark()
    uploader.start()
    try:
        bot.server.wait_for("getFile", timeout=30, after=mark)  # the first check has started
        result = timings(bot, UPLOAD_CITIZEN)
    finally:
        stop.set()
        uploader.join()
    return result, checks


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, FakeTelegram(token="818181:BENCH-ABUSE-TOKEN") as server:
        work = Path(folder)
        shutil.copytree(KNOWLEDGE, work / "knowledge")
        bot = BotProcess(server, work, admins=(ADMIN,), QBOT_LOG_LEVEL="WARNING",
                         QBOT_KNOWLEDGE_DIR=str(work / "knowledge")).start()
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
            uploading, checks = while_uploading(bot)
        finally:
            bot.stop()
    print("| citizen's questions | median ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- |")
    print(describe("quiet bot", quiet))
    print(describe("another user flooding", flooded))
    print(describe(f"admin's {len(hostile_page(0)) / 1e6:.2f} MB one-paragraph page being checked", uploading))
    print(f"flooder got {len(warnings)} replies (20 answers, then one slow-down notice)")
    print(f"hostile page checked {len(checks)} times while the citizen asked, "
          f"{statistics.median(checks):.0f} ms each (upload to the admin's reply)")


if __name__ == "__main__":
    main()
