"""Button data that always fits Telegram's 64-byte limit, whatever ids admins choose.

Kept free of telegram imports so the command line (`kb check`) can warn about the same limit."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import TypeVar

BUTTON_DATA_LIMIT = 64  # bytes of callback_data Telegram accepts (BUTTON_DATA_INVALID beyond)
ENTRY_PREFIX = "entry:"
_HASHED = "#"
T = TypeVar("T")


def fits(data: str) -> bool:
    return 1 <= len(data.encode("utf-8")) <= BUTTON_DATA_LIMIT


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def entry_data(entry_id: str) -> str:
    """`entry:<id>` when it fits, else `entry:#<16 hex digits of the id's hash>`."""
    data = f"{ENTRY_PREFIX}{entry_id}"
    return data if fits(data) else f"{ENTRY_PREFIX}{_HASHED}{short_hash(entry_id)}"


def entry_id_fits(entry_id: str) -> bool:
    """Whether an id can be carried in its button as written (otherwise a short hash is used)."""
    return fits(f"{ENTRY_PREFIX}{entry_id}")


def find_entry(data: str, entries: Iterable[T], key: str = "id") -> T | None:
    """The entry a button's data refers to (by id, or by the hash of a long id)."""
    wanted = data.removeprefix(ENTRY_PREFIX)
    hashed = wanted.startswith(_HASHED)
    for entry in entries:
        entry_id = getattr(entry, key)
        if (short_hash(entry_id) == wanted[1:]) if hashed else entry_id == wanted:
            return entry
    return None


DEEP_LINK_PREFIX = "entry-"
_DEEP_LINK_HASHED = "entryh-"
_START_PARAMETER = r"[A-Za-z0-9_-]{1,64}"  # what Telegram allows after ?start=


def deep_link_payload(entry_id: str) -> str:
    """The `start` parameter that opens an entry: `entry-<id>` when the id is made of the characters
    Telegram allows and fits, else `entryh-<16 hex digits of the id's hash>`."""
    payload = f"{DEEP_LINK_PREFIX}{entry_id}"
    return payload if re.fullmatch(_START_PARAMETER, payload) else f"{_DEEP_LINK_HASHED}{short_hash(entry_id)}"


def find_deep_link(payload: str, entries: Iterable[T], key: str = "id") -> T | None:
    """The entry a deep link's payload names, or None."""
    if payload.startswith(_DEEP_LINK_HASHED):
        wanted = payload.removeprefix(_DEEP_LINK_HASHED)
        return next((entry for entry in entries if short_hash(getattr(entry, key)) == wanted), None)
    if payload.startswith(DEEP_LINK_PREFIX):
        wanted = payload.removeprefix(DEEP_LINK_PREFIX)
        return next((entry for entry in entries if getattr(entry, key) == wanted), None)
    return None
