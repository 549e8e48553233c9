"""The README as a newcomer meets it: the first screen, the linked guides, every command it shows run
as written (from a fresh folder, with the venv's `qbot` and `python` first on PATH), and `.env.example`
listing every setting the bot reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import KNOWLEDGE, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def shown_commands(markdown: str) -> list[str]:
    """Shell lines in ```sh blocks that run the bot (`qbot …`, `python run_bot.py …`), comments removed."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if re.search(r"(^|\|\s*)(qbot\s|python run_bot\.py)", command):
                commands.append(command)
    return commands


def test_the_first_screen_is_for_a_newcomer():
    first = "\n".join(README.splitlines()[:40])
    assert "make run" in first and "make test" in first
    assert first.index("make run") < first.index("make test")
    assert "> 郴州质量开放日发放了多少宣传单" in first and "来源：" in first  # a sample exchange
    for page in ("docs/admin.md", "docs/staff.md", "docs/operations.md", "docs/benchmarks.md"):
        assert f"]({page})" in README and (ROOT / page).is_file(), page
    assert "/setinline" in README
    assert len(README) < 9000  # the guides live in docs/


def test_every_command_in_the_readme_runs(tmp_path):
    commands = shown_commands(README)
    assert len(commands) >= 6, commands
    shutil.copytree(KNOWLEDGE, tmp_path / "knowledge")
    shutil.copy(ROOT / "run_bot.py", tmp_path / "run_bot.py")
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "QBOT_"))}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    for command in commands:
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=environ, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=180, check=False)
        assert result.returncode == 0, (command, result.stdout[-500:], result.stderr[-2000:])
        assert result.stdout.strip() and "Traceback" not in result.stderr, (command, result.stderr[-2000:])


def test_env_example_lists_every_setting():
    read = set()
    for source in (ROOT / "bot" / "settings.py", ROOT / "bot" / "faces" / "cli.py"):
        read |= set(re.findall(r"\"((?:QBOT|TELEGRAM)_[A-Z_]+)\"", source.read_text(encoding="utf-8")))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert {"TELEGRAM_BOT_TOKEN", "QBOT_PROXY", "QBOT_LOG_LEVEL"} <= read
    for name in sorted(read):
        assert re.search(rf"^#? ?{name}=", example, flags=re.MULTILINE), name
        assert f"`{name}`" in operations, name
