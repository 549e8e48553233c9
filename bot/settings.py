"""Settings from the environment and an optional `.env` file, read once in main().

A missing or malformed setting raises SettingsError with one line that says what to fix.
"""

from __future__ import annotations

import hashlib
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
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    retention_days: int = 180
    webhook_url: str | None = None  # set: webhook mode instead of long polling
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    webhook_secret: str = field(default="", repr=False)
    sync_seconds: float = 10.0
    proxy: str | None = None  # every request to Telegram goes through it (QBOT_PROXY)
    staff_chat: int | None = None  # hand-offs to a person go to this chat (QBOT_STAFF_CHAT)
    admin_chat: int | None = None  # errors are reported here, one per kind per hour (QBOT_ADMIN_CHAT)
    http_host: str = "127.0.0.1"  # /healthz and /metrics (QBOT_HTTP_PORT, "port" or "host:port")
    http_port: int | None = None

    @property
    def secret_token(self) -> str:
        """The webhook's secret-token header: QBOT_WEBHOOK_SECRET, or derived from the bot token, so
        every instance of the same bot agrees on it without another setting."""
        return self.webhook_secret or hashlib.sha256(f"qbot-webhook:{self.token}".encode()).hexdigest()

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
        database_url=database_url(merged),
        retention_days=int(_positive("QBOT_RETENTION_DAYS", merged.get("QBOT_RETENTION_DAYS"), 180)),
        **_webhook(merged),
        sync_seconds=_positive("QBOT_SYNC_SECONDS", merged.get("QBOT_SYNC_SECONDS"), 10.0),
        proxy=proxy,
        staff_chat=_chat_id("QBOT_STAFF_CHAT", merged.get("QBOT_STAFF_CHAT")),
        admin_chat=_chat_id("QBOT_ADMIN_CHAT", merged.get("QBOT_ADMIN_CHAT")),
        **_http(merged.get("QBOT_HTTP_PORT")),
    )


def _chat_id(name: str, raw: str | None) -> int | None:
    """A Telegram chat id: a user's (positive) or a group's (negative, -100… for supergroups)."""
    if raw is None or not raw.strip():
        return None
    if not re.fullmatch(r"-?\d{1,20}", raw.strip()):
        raise SettingsError(f"{name}: '{raw}' is not a Telegram chat id (e.g. -1001234567890 for a group)")
    return int(raw.strip())


def _http(raw: str | None) -> dict:
    """QBOT_HTTP_PORT: '9100' (on 127.0.0.1) or 'host:port' such as '0.0.0.0:9100'."""
    if raw is None or not raw.strip():
        return {}
    match = re.fullmatch(r"(?:(.+):)?(\d{1,5})", raw.strip())
    if not match or not 0 < int(match.group(2)) < 65536:
        raise SettingsError(f"QBOT_HTTP_PORT: '{raw}' is not a port or host:port (e.g. 9100 or 0.0.0.0:9100)")
    return {"http_host": match.group(1) or "127.0.0.1", "http_port": int(match.group(2))}


def _webhook(merged: Mapping[str, str]) -> dict:
    url = merged.get("QBOT_WEBHOOK_URL", "").strip() or None
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise SettingsError(f"QBOT_WEBHOOK_URL: '{url}' is not an http(s) URL")
    listen = merged.get("QBOT_WEBHOOK_LISTEN", "").strip() or "0.0.0.0:8080"
    match = re.fullmatch(r"(.+):(\d{1,5})", listen)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise SettingsError(f"QBOT_WEBHOOK_LISTEN: '{listen}' is not host:port (e.g. 0.0.0.0:8080)")
    secret = merged.get("QBOT_WEBHOOK_SECRET", "").strip()
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise SettingsError("QBOT_WEBHOOK_SECRET: use 1-256 characters A-Z, a-z, 0-9, _ and -")
    return {"webhook_url": url, "webhook_host": match.group(1), "webhook_port": int(match.group(2)),
            "webhook_secret": secret}


def database_url(merged: Mapping[str, str]) -> str | None:
    """QBOT_DATABASE_URL: a PostgreSQL URL, or unset for SQLite in the data folder."""
    url = merged.get("QBOT_DATABASE_URL", "").strip()
    if not url:
        return None
    if not re.match(r"^postgres(ql)?(\+psycopg)?://", url):
        raise SettingsError("QBOT_DATABASE_URL: expected postgresql://user:password@host:port/database "
                            "(leave it unset to use SQLite in QBOT_DATA_DIR)")
    return url


def storage_settings(environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> tuple[Path, str | None]:
    """The data folder and database URL alone (for `db` commands, which need no token)."""
    merged = {**(read_env_file(env_file) if env_file else {}), **environ}
    return Path(merged.get("QBOT_DATA_DIR", "").strip() or "data"), database_url(merged)
