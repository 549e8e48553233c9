"""The deployment files in docs/deploy are checked against the code: the systemd unit runs a command that
exists, with the env file it names; every variable set in the env file and the container file is a
setting the bot reads, and the values load; the container copies files that exist and checks the
health port it publishes."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys
from pathlib import Path

from bot.faces.cli import parser
from bot.settings import load_settings
from tests.conftest import ROOT

DEPLOY = ROOT / "docs" / "deploy"
INSTALL = "/opt/qbot"  # where the unit expects the checkout
TOKEN = "123456:DEPLOY-TEST-TOKEN-abcdef"


def known_settings() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "bot").rglob("*.py"):
        names |= set(re.findall(r"\"((?:QBOT|TELEGRAM)_[A-Z_]+)\"", source.read_text(encoding="utf-8")))
    return names


def unit() -> configparser.SectionProxy:
    config = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    config.optionxform = str  # systemd keys are case-sensitive
    config.read_string((DEPLOY / "qbot.service").read_text(encoding="utf-8"))
    assert {"Unit", "Service", "Install"} <= set(config.sections())
    return config["Service"]


def in_checkout(path: str) -> Path:
    assert path.startswith(INSTALL + "/"), path
    return ROOT / path.removeprefix(INSTALL + "/")


def env_file() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "qbot.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_the_units_command_exists_and_starts_the_bot():
    service = unit()
    command = shlex.split(service["ExecStart"])
    assert command[0] == f"{INSTALL}/.venv/bin/python"  # what `make install` creates in the checkout
    script = in_checkout(command[1])
    assert script == ROOT / "run_bot.py" and script.is_file()
    args = parser().parse_args(command[2:])
    assert args.command == "run"
    assert service["WorkingDirectory"] == INSTALL
    assert service["EnvironmentFile"].endswith("/qbot.env")
    assert service["RestartPreventExitStatus"] == "2"  # what a settings problem exits with
    shown = subprocess.run([sys.executable, str(script), *command[2:], "--help"], capture_output=True, text=True,
                           timeout=60, check=False)
    assert shown.returncode == 0 and "--knowledge" in shown.stdout


def test_the_env_file_sets_only_known_settings_and_they_load():
    values = env_file()
    assert set(values) <= known_settings(), set(values) - known_settings()
    assert "TELEGRAM_BOT_TOKEN" in values and values["TELEGRAM_BOT_TOKEN"] == ""  # filled in by the operator
    settings = load_settings({**values, "TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert settings.http_port == 9100 and settings.http_host == "127.0.0.1"
    data = Path(values["QBOT_DATA_DIR"])
    writable = unit()["ReadWritePaths"].split()
    assert any(data.is_relative_to(path) for path in writable)  # the database folder can be written
    assert str(data).startswith("/var/lib/" + unit()["StateDirectory"])
    assert in_checkout(values["QBOT_KNOWLEDGE_DIR"]).is_dir() and values["QBOT_KNOWLEDGE_DIR"] in writable


def test_the_container_file_copies_what_exists_and_runs_the_bot():
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies and all((ROOT / source).exists() for sources in copies for source in sources)
    environment = dict(re.findall(r"(QBOT_[A-Z_]+)=(\S+)", next(line for line in lines if line.startswith("ENV "))))
    assert set(environment) <= known_settings()
    settings = load_settings({**environment, "TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    exposed = {int(port) for line in lines if line.startswith("EXPOSE ") for port in line.split()[1:]}
    assert settings.http_port in exposed and settings.http_host == "0.0.0.0"
    assert f":{settings.http_port}/healthz" in text
    command = re.search(r'^CMD \["python", "run_bot.py", (.*)\]$', text, flags=re.MULTILINE)
    assert command is not None
    assert parser().parse_args([part.strip().strip('"') for part in command.group(1).split(",")]).command == "run"
    assert environment["QBOT_KNOWLEDGE_DIR"] == "/app/knowledge" and "COPY knowledge ./knowledge" in text
