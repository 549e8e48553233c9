"""Settings from the environment and an optional `.env` file, read once in main().

A missing or malformed setting raises SettingsError with one line that says what to fix.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_URL = "https://api.telegram.org"
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)  # never printed
    api_url: str = DEFAULT_API_URL
    admins: frozenset[int] = frozenset()
    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    flood_messages: int = 20
    flood_seconds: float = 60.0
    broadcast_rate: float = 25.0
    misfire_grace: timedelta = timedelta(hours=6)
    watch_seconds: float = 5.0
    proxy: str | None = None  # every request to Telegram goes through it (QBOT_PROXY)

    @property
    def base_url(self) -> str:
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url}/file/bot"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file; quotes around values are removed, comments skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _admins(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in filter(None, (piece.strip() for piece in raw.split(","))):
        if not re.fullmatch(r"-?\d+", part):
            raise SettingsError(f"QBOT_ADMINS: '{part}' is not a Telegram user id (use numbers separated by commas)")
        ids.add(int(part))
    return frozenset(ids)


def _positive(name: str, raw: str | None, default: float) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: '{raw}' is not a number") from None
    if value <= 0:
        raise SettingsError(f"{name}: must be greater than 0, not {raw}")
    return value


def _duration(name: str, raw: str | None, default: timedelta) -> timedelta:
    """'6h', '90m', '30s' or a number of seconds."""
    if raw is None or not raw.strip():
        return default
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hms]?)\s*", raw.lower())
    if not match:
        raise SettingsError(f"{name}: '{raw}' is not a duration (e.g. 6h, 90m, 3600)")
    unit = {"h": 3600, "m": 60, "s": 1, "": 1}[match.group(2)]
    return timedelta(seconds=float(match.group(1)) * unit)


def load_settings(environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> Settings:
    """Settings from `environ`, with values from `env_file` where the environment has none."""
    merged = {**(read_env_file(env_file) if env_file else {}), **environ}
    token = merged.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set")
    if not _TOKEN.match(token):
        raise SettingsError("TELEGRAM_BOT_TOKEN is malformed (expected digits, a colon and the secret from BotFather)")
    api_url = merged.get("TELEGRAM_API_URL", "").strip().rstrip("/") or DEFAULT_API_URL
    if not re.match(r"^https?://[^\s/]+", api_url):
        raise SettingsError(f"TELEGRAM_API_URL: '{api_url}' is not an http(s) URL")
    zone = merged.get("QBOT_TZ", "").strip() or "Asia/Shanghai"
    try:
        timezone = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"QBOT_TZ: unknown time zone '{zone}' (e.g. Asia/Shanghai)") from None
    proxy = merged.get("QBOT_PROXY", "").strip() or None
    if proxy is not None:
        if not re.match(r"^(https?|socks5h?)://[^\s/]+", proxy):
            raise SettingsError(f"QBOT_PROXY: '{proxy}' is not a proxy URL (e.g. http://127.0.0.1:7890)")
        if proxy.startswith("socks") and importlib.util.find_spec("socksio") is None:
            raise SettingsError("QBOT_PROXY: socks5 needs `pip install \"httpx[socks]\"`; or use an http proxy")
    return Settings(
        token=token,
        api_url=api_url,
        admins=_admins(merged.get("QBOT_ADMINS", "")),
        data_dir=Path(merged.get("QBOT_DATA_DIR", "").strip() or "data"),
        knowledge_dir=Path(merged.get("QBOT_KNOWLEDGE_DIR", "").strip() or "knowledge"),
        timezone=timezone,
        flood_messages=int(_positive("QBOT_FLOOD_MESSAGES", merged.get("QBOT_FLOOD_MESSAGES"), 20)),
        flood_seconds=_positive("QBOT_FLOOD_SECONDS", merged.get("QBOT_FLOOD_SECONDS"), 60.0),
        broadcast_rate=_positive("QBOT_BROADCAST_RATE", merged.get("QBOT_BROADCAST_RATE"), 25.0),
        misfire_grace=_duration("QBOT_MISFIRE_GRACE", merged.get("QBOT_MISFIRE_GRACE"), timedelta(hours=6)),
        watch_seconds=_positive("QBOT_WATCH_SECONDS", merged.get("QBOT_WATCH_SECONDS"), 5.0),
        proxy=proxy,
    )
