"""The command line as a user runs it: `run_bot.py ask`, `ask --json -`, `console`."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from bot.faces.cli import main
from tests.conftest import KNOWLEDGE, ROOT


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_ask_prints_answer_and_source():
    code, out, _ = run(["ask", "--knowledge", str(KNOWLEDGE), "湖南2020年质量月的主题是什么"])
    assert code == 0
    assert "建设质量强省" in out and "决胜全面小康" in out
    assert "来源：《" in out


def test_ask_in_traditional_replies_in_traditional():
    code, out, _ = run(["ask", "--knowledge", str(KNOWLEDGE), "江西質量月啟動儀式在哪裡舉行"])
    assert code == 0 and "贛州" in out and "來源" in out


def test_ask_json_reads_one_question_per_line_in_order():
    questions = ["质量月是每年几月?", "今天天气怎么样", "", "郴州质量开放日发放了多少宣传单"]
    code, out, _ = run(["ask", "--json", "--knowledge", str(KNOWLEDGE), "-"], stdin="\n".join(questions) + "\n")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(questions)
    assert lines[0]["matched"] and "9月" in lines[0]["answer"]
    assert lines[1]["matched"] is False and lines[1]["suggestions"]
    assert lines[2]["matched"] is False
    assert lines[3]["matched"] and "6000" in lines[3]["answer"]
    for line in lines:
        assert set(line) == {"matched", "answer", "score", "reason", "sources", "suggestions"}


def test_console_answers_helps_picks_suggestions_and_exits_on_eof():
    session = "/help\n今天天气怎么样\n1\n质量月是什么\n"
    code, out, _ = run(["console", "--knowledge", str(KNOWLEDGE)], stdin=session)
    assert code == 0
    assert "/help" in out  # the help text lists the commands
    assert "抱歉" in out and "您可以试试这样问" in out
    assert "来源" in out
    assert out.rstrip().endswith("再见！")


def test_run_without_token_opens_the_console(monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("QBOT_KNOWLEDGE_DIR", str(KNOWLEDGE))
    code, out, _ = run([], stdin="质量月是每年几月\n")
    assert code == 0 and "9月" in out and "再见" in out


def test_entry_point_runs_as_a_script():
    """`python run_bot.py ask ...` in a real process, as `make run` and the README use it."""
    result = subprocess.run(
        [sys.executable, "run_bot.py", "ask", "--json", "郑长征讲座的题目是什么"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["matched"] and "质量发展与质量驱动力" in answer["answer"]
    assert "Traceback" not in result.stderr


def test_malformed_setting_stops_start_up_with_one_line(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not-a-token")
    code, _, err = run([])
    assert code == 2
    assert err.strip().count("\n") == 0 and "TELEGRAM_BOT_TOKEN is malformed" in err
    assert "not-a-token" not in err
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCdefGHIjklMNOpqr")
    monkeypatch.setenv("QBOT_ADMINS", "root")
    code, _, err = run([])
    assert code == 2 and "QBOT_ADMINS" in err


def test_kb_add_imports_a_raw_page_with_history(tmp_path):
    import shutil

    from tests.conftest import DATA

    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    page = DATA / "holdout" / "pages" / "page_b.txt"
    code, out, _ = run(["kb", "add", str(page), "--knowledge", str(folder)], stdin="y\n")
    assert code == 0
    assert "title: " in out and "passages: " in out and "宿迁" in out
    assert (folder / "articles" / "page_b.txt").exists() and (folder / ".history").is_dir()
    code, out, _ = run(["ask", "--knowledge", str(folder), "宿迁市政府质量奖获奖组织奖励多少钱"])
    assert code == 0 and "50万" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("entries:\n  - id: [x\n", encoding="utf-8")
    code, out, err = run(["kb", "add", str(bad), "--knowledge", str(folder)])
    assert code == 1 and "bad.yaml:" in out and "nothing was changed" in err
    assert not (folder / "bad.yaml").exists()
