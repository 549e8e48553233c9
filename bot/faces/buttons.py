"""Button data that always fits Telegram's 64-byte limit, whatever ids admins choose.

Kept free of telegram imports so the command line (`kb check`) can warn about the same limit."""

from __future__ import annotations

import hashlib
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
