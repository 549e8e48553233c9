"""Broadcast throughput on the local Bot API server: 5,000 subscribers, paced and unpaced.

Run with `make bench-broadcast` (about four minutes: the paced run alone takes 5,000 / 30 s).
Prints achieved messages per second, the bot process's peak memory, and duplicate / missing counts.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from bot.store.repositories import Store
from tests.botproc import BotProcess, buttons
from tests.fakes import FakeTelegram

SUBSCRIBERS = 5_000
ADMIN = 1
TEXT = "质量月提醒（基准测试）"


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(rate: float, label: str) -> None:
    with tempfile.TemporaryDirectory() as folder, FakeTelegram(token="616161:BENCH-BROADCAST-TOKEN") as server:
        work = Path(folder)
        store = Store(work / "data")
        for chat in range(1_000, 1_000 + SUBSCRIBERS):
            store.subscriptions.subscribe(chat)
        store.close()
        bot = BotProcess(server, work, admins=(ADMIN,), QBOT_BROADCAST_RATE=str(rate), QBOT_LOG_LEVEL="WARNING")
        bot.start()
        try:
            preview = bot.command(ADMIN, f"/broadcast {TEXT}")
            mark = server.mark()
            bot.press(ADMIN, preview.result, next(data for data in buttons(preview) if data.startswith("bc:go:")))
            server.wait_for("editMessageText", lambda c: "完成" in c.params.get("text", ""), timeout=SUBSCRIBERS,
                            after=mark)
            assert bot.process is not None
            memory = peak_memory_mb(bot.process.pid)
        finally:
            bot.stop()
        sends = [c for c in server.calls if c.method == "sendMessage" and c.params.get("text") == TEXT]
        counts = Counter(c.params["chat_id"] for c in sends)
        duration = sends[-1].time - sends[0].time
        achieved = (len(sends) - 1) / duration if duration > 0 else float("inf")
        missing = SUBSCRIBERS - len(counts)
        duplicates = sum(count - 1 for count in counts.values())
        target = f"{rate:g}/s" if rate < 1e6 else "unpaced"
        share = f"{achieved / rate:.0%}" if rate < 1e6 else "—"
        print(f"| {label} | {target} | {achieved:.1f} | {share} | {memory:.0f} | {missing} | {duplicates} |")


def main() -> None:
    print(f"{SUBSCRIBERS} subscribers, local Bot API server, one bot process")
    print("| run | configured | achieved msg/s | of target | peak MB | missing | duplicates |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    run(30, "paced")
    run(1e9, "unpaced")


if __name__ == "__main__":
    main()
