"""Which uploaded files are looked at, and where they go in the knowledge folder."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from bot.knowledge.loader import ARTICLE_FOLDER, ARTICLE_SUFFIXES, ENTRY_SUFFIXES, MAX_FILE_BYTES

_SAFE_NAME = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z_\u4e00-\u9fff .()（）+-]{0,99}$")


class UploadRefused(ValueError):
    """A file that is not even looked at: `reason` is "too_big", "unsafe_name" or "file_type"; the
    faces word it (strings.UPLOAD_REFUSED) with `values`."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


def target_path(name: str, size: int) -> str:
    """Where an uploaded file goes, or UploadRefused with the reason."""
    name = name.strip()
    if size > MAX_FILE_BYTES:
        raise UploadRefused("too_big", size=size, limit=MAX_FILE_BYTES)
    if "/" in name or "\\" in name or ".." in name or not _SAFE_NAME.match(name):
        raise UploadRefused("unsafe_name", name=name[:60])
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in ENTRY_SUFFIXES:
        return name
    if suffix in ARTICLE_SUFFIXES:
        return f"{ARTICLE_FOLDER}/{name}"
    raise UploadRefused("file_type", suffix=suffix)
