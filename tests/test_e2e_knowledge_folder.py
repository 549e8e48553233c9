"""A missing or empty knowledge folder stops start-up (bot and `ask`) with one line and a non-zero exit;
a duplicate id blames the file that came later and never replaces the entry already there."""

from __future__ import annotations

import io
import os
import shutil

from bot.curation.folder import KnowledgeFolder
from bot.faces.cli import main
from bot.knowledge.loader import load_folder
from tests.botproc import BotProcess
from tests.conftest import KNOWLEDGE
from tests.fakes import FakeTelegram


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(""), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_bot_does_not_start_without_its_knowledge(tmp_path):
    with FakeTelegram() as server:
        process = BotProcess(server, tmp_path, QBOT_KNOWLEDGE_DIR="/nonexistent").launch()
        code = process.wait(timeout=90)
        assert not [call for call in server.calls if call.method == "getUpdates"]
    output = process.log.read_text(encoding="utf-8").strip()
    assert code != 0
    assert output.count("\n") == 0 and "找不到知识库文件夹 /nonexistent" in output, output


def test_ask_stops_with_one_line_for_a_missing_or_empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `ask` from another folder: ./knowledge does not exist here
    monkeypatch.delenv("QBOT_KNOWLEDGE_DIR", raising=False)
    code, out, err = run(["ask", "质量月是什么"])
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "找不到知识库文件夹 knowledge" in err
    (tmp_path / "empty").mkdir()
    code, out, err = run(["ask", "--knowledge", str(tmp_path / "empty"), "质量月是什么"])
    assert code != 0 and out == "" and "没有可用的条目或文章" in err


ENTRY = """entries:
  - id: faq-when-is-quality-month
    type: faq
    title: 冒名条目
    question: 质量月是几月
    answer: 冒名的答案。
    source:
      title: 冒名来源
      origin: 冒名网站
"""


def test_a_duplicate_id_blames_the_later_file_and_keeps_the_shipped_entry(tmp_path):
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    shipped = next(e for e in load_folder(folder).snapshot.entries if e.id == "faq-when-is-quality-month")
    later = folder / "dupe_upload.yaml"  # sorts before faq.yaml, but was added later
    later.write_text(ENTRY, encoding="utf-8")
    newest = max(path.stat().st_mtime_ns for path in folder.glob("*.yaml"))
    os.utime(later, ns=(newest + 10**9, newest + 10**9))
    result = load_folder(folder)
    kept = next(e for e in result.snapshot.entries if e.id == "faq-when-is-quality-month")
    assert kept.path == shipped.path and kept.answer == shipped.answer
    blamed = [str(problem) for problem in result.problems]
    where = f"{shipped.path}:{shipped.line}"
    assert blamed == [f"{later}:2: 第2行：编号“faq-when-is-quality-month”重复（第一次出现在 {where}）"]
    code, out, _ = run(["kb", "check", "--knowledge", str(folder)])
    assert code == 1 and f"{later}:2:" in out
    later.unlink()
    change = KnowledgeFolder(folder, lambda: None, lambda _: None).plan("dupe_upload.yaml", ENTRY.encode())
    assert not change.ok
    first = str(change.problems[0])
    assert first.startswith("dupe_upload.yaml:2: 第2行：编号“faq-when-is-quality-month”重复")
