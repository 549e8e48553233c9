"""Backup and restore end to end: a backup taken with `run_bot.py db backup` while the bot runs is restored
with `db restore` into a fresh folder, and a bot started on that folder answers, knows its staff and
subscribers and counts the old questions. The offline `stats --png` and `export` read the restored data."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from bot.insight.chart import PNG_MAGIC
from tests.botproc import BotProcess
from tests.conftest import ROOT
from tests.fakes import FakeTelegram

ADMIN = 930001
STAFF = 930002
CITIZEN = 930003


def cli(bot: BotProcess, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**bot.env, "QBOT_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args], cwd=bot.work, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_backup_restored_into_a_fresh_folder_runs_the_same_bot(tmp_path: Path):
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
    with FakeTelegram(token="535353:E2E-BACKUP-TOKEN-abcdef") as server:
        first = BotProcess(server, tmp_path / "first", admins=(ADMIN,)).start()
        try:
            assert "已将" in first.command(ADMIN, f"/staff add {STAFF}").params["text"]
            assert "已订阅" in first.command(CITIZEN, "/subscribe").params["text"]
            assert "9月" in first.ask(CITIZEN, "质量月是每年几月").params["text"]
            assert "抱歉" in first.ask(CITIZEN, "备份之前的问题：今天吃什么").params["text"]
            done = cli(first, tmp_path / "first" / "data", "db", "backup", str(tmp_path / "qbot-backup.db"))
            assert done.returncode == 0, done.stderr  # taken while the bot runs
            assert "backed up" in done.stdout and "2 questions" in done.stdout
        finally:
            first.stop()
        fresh = tmp_path / "second" / "data"
        restored = cli(first, fresh, "db", "restore", str(tmp_path / "qbot-backup.db"))
        assert restored.returncode == 0, restored.stderr
        again = cli(first, fresh, "db", "restore", str(tmp_path / "qbot-backup.db"))
        assert again.returncode == 1 and "already holds data" in again.stderr
        second = BotProcess(server, tmp_path / "second", admins=(ADMIN,)).start()
        try:
            assert "6000" in second.ask(CITIZEN, "郴州质量开放日发放了多少宣传单").params["text"]
            stats = second.command(STAFF, "/stats").params["text"]  # still staff
            assert "提问总数：3" in stats and "备份之前的问题" in stats
            assert "已经订阅" in second.command(CITIZEN, "/subscribe").params["text"]
        finally:
            second.stop()
        chart = tmp_path / "stats.png"
        offline = cli(second, fresh, "stats", "--since", "30d", "--png", str(chart))
        assert offline.returncode == 0, offline.stderr
        assert "近30天：提问 3，已回答 2" in offline.stdout and chart.read_bytes().startswith(PNG_MAGIC)
        exported = cli(second, fresh, "export", "--since", "7d", "--out", str(tmp_path / "csv"))
        assert exported.returncode == 0, exported.stderr
        questions = next((tmp_path / "csv").glob("questions-*.csv")).read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(questions)))
        assert [row["问题"] for row in rows][:2] == ["质量月是每年几月", "备份之前的问题：今天吃什么"]
