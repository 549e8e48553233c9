from pathlib import Path

import pytest

from bot.settings import DEFAULT_API_URL, SettingsError, load_settings

TOKEN = "123456:ABCdefGHIjklMNOpqr"


def test_defaults_and_parsing(tmp_path: Path):
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "QBOT_ADMINS": "1, 22,333"}, env_file=None)
    assert settings.api_url == DEFAULT_API_URL
    assert settings.admins == frozenset({1, 22, 333})
    assert settings.data_dir == Path("data") and settings.knowledge_dir == Path("knowledge")
    assert str(settings.timezone) == "Asia/Shanghai"
    assert TOKEN not in repr(settings)


def test_env_file_fills_what_the_environment_lacks(tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text(f"# comment\nTELEGRAM_BOT_TOKEN='{TOKEN}'\nexport QBOT_TZ=Europe/Berlin\n"
                   "TELEGRAM_API_URL=http://127.0.0.1:8081/\n", encoding="utf-8")
    settings = load_settings({"QBOT_TZ": "Asia/Shanghai"}, env_file=env)
    assert settings.token == TOKEN
    assert str(settings.timezone) == "Asia/Shanghai"
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "TELEGRAM_BOT_TOKEN is malformed"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "QBOT_ADMINS": "1,alice"}, "QBOT_ADMINS: 'alice'"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "QBOT_TZ": "Mars/Olympus"}, "QBOT_TZ: unknown time zone"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "QBOT_FLOOD_MESSAGES": "0"}, "QBOT_FLOOD_MESSAGES"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "QBOT_PROXY": "127.0.0.1:7890"}, "QBOT_PROXY: '127.0.0.1:7890'"),
    ],
)
def test_bad_settings_give_one_clear_line(environ, message):
    with pytest.raises(SettingsError) as raised:
        load_settings(environ, env_file=None)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert "nonsense" not in str(raised.value)  # a malformed token is not echoed


def test_malformed_env_file_names_its_line(tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text("TELEGRAM_BOT_TOKEN=x\nthis is not a setting\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\.env:2: expected KEY=VALUE"):
        load_settings({}, env_file=env)


def test_proxy_setting_is_read():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "QBOT_PROXY": "http://127.0.0.1:7890"}, env_file=None)
    assert settings.proxy == "http://127.0.0.1:7890"
    assert load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None).proxy is None
