"""The command line a newcomer and an admin use: the `qbot` command, several questions at once, the
console's line editing and clean exits (in a real terminal), and kb add/history/rollback with a diff
and a question before anything is written."""

from __future__ import annotations

import io
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

from bot.faces.cli import main
from tests.conftest import KNOWLEDGE, ROOT

QBOT = Path(sys.executable).parent / "qbot"


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_qbot_is_installed_and_answers_one_question_per_argument():
    result = subprocess.run([str(QBOT), "ask", "--knowledge", str(KNOWLEDGE), "质量月是每年几月？", "今天天气怎么样"],
                            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("\n\n", 1)
    assert "9月" in first and "来源" in first
    assert second.startswith("抱歉") and "9月" not in second


class Terminal:
    """The console in a pseudo-terminal, read until what a user would wait for appears."""

    def __init__(self) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the console, as `qbot console` runs it
            os.execv(str(QBOT), [str(QBOT), "console", "--knowledge", str(KNOWLEDGE)])
        self.seen = b""

    def until(self, text: str, times: int = 1, timeout: float = 90) -> str:
        """The output so far, once `text` has appeared `times` times in it (or the child has exited)."""
        wanted = text.encode()
        while self.seen.count(wanted) < times:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            assert ready, f"no {text!r} within {timeout}s; got {self.seen.decode(errors='replace')!r}"
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # the child has exited
                break
            if not chunk:
                break
            self.seen += chunk
        return self.seen.decode(errors="replace")

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def interrupt(self, presses: int = 5) -> str:
        """Ctrl-C until the console says goodbye. CPython's readline can miss a SIGINT that lands in the
        instant between the prompt being drawn and its select() starting (the signal is only noticed
        on the next key), so like a user the test presses again if nothing happens within 3 s."""
        for _ in range(presses):
            self.type("\x03")
            try:
                return self.until("再见", timeout=3)
            except AssertionError:
                continue
        return self.until("再见")

    def exit_code(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def test_console_has_line_editing_and_history_and_ctrl_c_exits_cleanly():
    terminal = Terminal()
    terminal.until("> ")
    terminal.type("质量月是每年几\x1b[D\x1b[C月？\r")  # arrows move the cursor, they are not sent as text
    first = terminal.until("来源")
    assert "[D" not in first and "9月" in first
    terminal.until("> ", times=2)
    terminal.type("\x1b[A\r")  # Up: the last question again
    again = terminal.until("来源", times=2)
    assert again.count("每年9月开展") == 2
    terminal.until("> ", times=3)
    output = terminal.interrupt()
    assert terminal.exit_code() == 0
    assert "Traceback" not in output and "KeyboardInterrupt" not in output


def test_console_ctrl_d_exits_cleanly():
    terminal = Terminal()
    terminal.until("> ")
    terminal.type("\x04")  # Ctrl-D
    output = terminal.until("再见")
    assert terminal.exit_code() == 0 and "Traceback" not in output


ENTRIES = """entries:
  - id: faq-frog-day
    type: faq
    title: 青蛙质量节
    question: 青蛙质量节在哪天
    answer: 青蛙质量节在每年3月3日。
    source:
      title: 示例来源
      origin: 示例网站
"""


def test_kb_add_shows_the_diff_asks_and_history_and_rollback_work(tmp_path):
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    shortened = tmp_path / "faq.yaml"
    original = (folder / "faq.yaml").read_text(encoding="utf-8")
    shortened.write_text(original[: original.index("- id: faq-2017-national-quality-month-theme")], encoding="utf-8")

    code, out, _ = run(["kb", "add", str(shortened), "--knowledge", str(folder), "--dry-run"])
    assert code == 0 and "removed: " in out and "-- id: faq-2017-national-quality-month-theme" in out
    assert "试运行" in out and (folder / "faq.yaml").read_text(encoding="utf-8") == original

    code, out, _ = run(["kb", "add", str(shortened), "--knowledge", str(folder)], stdin="n\n")
    assert code == 1 and "确认写入" in out and "已取消" in out
    assert (folder / "faq.yaml").read_text(encoding="utf-8") == original

    page = tmp_path / "frog.yaml"
    page.write_text(ENTRIES, encoding="utf-8")
    code, out, _ = run(["kb", "add", str(page), "--knowledge", str(folder), "--yes"])
    assert code == 0 and "added: faq-frog-day" in out and "+    answer: 青蛙质量节在每年3月3日。" in out
    assert "确认写入" not in out
    assert "3月3日" in run(["ask", "--knowledge", str(folder), "青蛙质量节在哪天"])[1]

    code, out, _ = run(["kb", "history", "--knowledge", str(folder)])
    assert code == 0 and "命令行导入" in out and "frog.yaml" in out

    code, out, _ = run(["kb", "rollback", "--knowledge", str(folder)], stdin="\n")
    assert code == 1 and "将撤销" in out and "已取消" in out and (folder / "frog.yaml").exists()
    code, out, _ = run(["kb", "rollback", "--knowledge", str(folder), "--yes"])
    assert code == 0 and "已撤销" in out and not (folder / "frog.yaml").exists()
    assert "（已撤销）" in run(["kb", "history", "--knowledge", str(folder)])[1]
    assert "没有可以撤销的修改" in run(["kb", "rollback", "--knowledge", str(folder), "--yes"])[1]
