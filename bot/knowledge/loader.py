"""Loads a knowledge folder (or an in-memory set of files) into a validated Snapshot.

Layout: `*.yaml` / `*.yml` files hold curated entries, except a top-level `calendar.yaml` (or `.yml`), which
holds the Quality Month reminder calendar, `lexicon.yaml` the word lists questions are read with and
`pointers.yaml` where to send questions outside quality policy; `articles/*.txt` / `articles/*.md` hold raw
scraped pages, cleaned on load. Folders whose names start with '.' or '_' (history, drafts) are skipped.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TypeVar

from bot import strings
from bot.knowledge import cache as part_cache
from bot.knowledge.calendar_file import parse_calendar
from bot.knowledge.cleaning import clean_page
from bot.knowledge.model import Article, Calendar, Entry, Lexicon, Pointer, Snapshot, Source, content_version
from bot.knowledge.schema import Problem, build_entry, parse_entries_file
from bot.knowledge.wordlists import LEXICON_FILES, POINTER_FILES, parse_lexicon, parse_pointers

MAX_FILE_BYTES = 1_000_000
ENTRY_SUFFIXES = (".yaml", ".yml")
ARTICLE_SUFFIXES = (".txt", ".md")
ARTICLE_FOLDER = "articles"
CALENDAR_FILES = ("calendar.yaml", "calendar.yml")
T = TypeVar("T")


@dataclass
class LoadResult:
    snapshot: Snapshot
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def is_article(relative: str) -> bool:
    """Suffixes are compared case-insensitively everywhere (upload, loader, watcher): `FAQ.YAML` saved by
    a Windows tool is a knowledge file, never one that is reported applied and then ignored."""
    return PurePosixPath(relative).suffix.lower() in ARTICLE_SUFFIXES


def is_calendar(relative: str) -> bool:
    return relative.lower() in CALENDAR_FILES


def is_knowledge_file(relative: str) -> bool:
    path = PurePosixPath(relative)
    if any(part.startswith((".", "_")) for part in path.parts):
        return False
    if len(path.parts) == 1:
        return path.suffix.lower() in ENTRY_SUFFIXES
    return len(path.parts) == 2 and path.parts[0] == ARTICLE_FOLDER and is_article(relative)


def knowledge_files(folder: Path) -> list[tuple[str, os.DirEntry[str]]]:
    """The knowledge files below `folder` (POSIX path relative to it, directory entry), in path
    order. Knowledge lives only at the top and in articles/, so nothing else is walked (the index
    cache and the history hold thousands of files)."""
    found: list[tuple[str, os.DirEntry[str]]] = []

    def scan(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if not prefix and entry.name == ARTICLE_FOLDER and entry.is_dir():
                    scan(entry.path, relative + "/")
                elif prefix:  # a page in articles/: is_knowledge_file's test without a PurePosixPath per page
                    if (not entry.name.startswith((".", "_")) and os.path.splitext(entry.name)[1].lower()
                            in ARTICLE_SUFFIXES and entry.is_file()):
                        found.append((relative, entry))
                elif entry.is_file() and is_knowledge_file(relative):
                    found.append((relative, entry))

    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        scan(str(folder), "")
    found.sort(key=lambda item: item[0].split("/"))
    return found


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every knowledge file below `folder`, keyed by its POSIX path relative to the folder."""
    files: dict[str, bytes] = {}
    for relative, entry in knowledge_files(folder):
        with open(entry.path, "rb") as handle:
            files[relative] = handle.read()
    return files


_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
GB_SHARE = 0.95  # of non-ASCII characters that must be ordinary Chinese text for a GB18030 reading to count


def _ordinary(ch: str) -> bool:
    """A character of ordinary Chinese text: an ideograph, CJK or full-width punctuation, or a GB2312 symbol."""
    point = ord(ch)
    if 0x4E00 <= point <= 0x9FFF or 0x3000 <= point <= 0x303F or 0xFF00 <= point <= 0xFFEF:
        return True
    if 0x3040 <= point <= 0x30FF:  # kana: in GB2312, but what Big5's common characters turn into
        return False
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _looks_chinese(text: str) -> bool:
    """True when a GB18030 reading gives ordinary Chinese text. Big5 or Latin-1 bytes also decode as
    GB18030, but into kana, private-use and box characters; saving that as UTF-8 would store mojibake."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    return bool(wide) and sum(map(_ordinary, wide)) >= GB_SHARE * len(wide)


def decode_with_encoding(relative: str, data: bytes) -> tuple[str | None, Problem | None, str]:
    """Text of a file and the encoding it was read in; or the reason it cannot be used. UTF-8 is the
    norm; UTF-16/32 with a byte-order mark and GB18030 (GBK, GB2312), common on government sites, are
    read too, and uploads are saved as UTF-8."""
    if not data.strip():
        return None, Problem(relative, 1, strings.P_EMPTY), ""
    if len(data) > MAX_FILE_BYTES:
        return None, Problem(relative, 1, strings.P_TOO_BIG.format(size=len(data), limit=MAX_FILE_BYTES)), ""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).removeprefix("\ufeff"), None, encoding.removesuffix("-sig")
            except UnicodeDecodeError as error:
                return None, Problem(relative, 1, strings.P_BAD_BOM_TEXT.format(encoding=encoding.upper(),
                                                                                 byte=error.start)), ""
    if b"\0" in data:
        if data[1::2].count(0) > len(data) // 4 or data[0::2].count(0) > len(data) // 4:
            return None, Problem(relative, 1, strings.P_UTF16_NO_BOM), ""
        return None, Problem(relative, data[: data.index(b"\0")].count(b"\n") + 1,
                             strings.P_BINARY), ""
    try:
        return data.decode("utf-8"), None, "utf-8"
    except UnicodeDecodeError as error:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            text = ""
        if text and _looks_chinese(text):
            return text, None, "gb18030"
        line = data[: error.start].count(b"\n") + 1
        return None, Problem(relative, line, strings.P_NOT_TEXT.format(byte=error.start)), ""


def decode(relative: str, data: bytes) -> tuple[str | None, Problem | None]:
    """Text of a file (see decode_with_encoding), or the reason it cannot be used."""
    text, problem, _ = decode_with_encoding(relative, data)
    return text, problem


def article_from_text(relative: str, text: str, key: str = "") -> tuple[Article | None, Problem | None]:
    name = PurePosixPath(relative).name
    page = clean_page(text, name)
    if not page.paragraphs:
        return None, Problem(relative, 1, strings.P_NO_ARTICLE)
    article = Article(
        id=PurePosixPath(relative).stem,
        path=relative,
        title=page.title,
        source=Source(title=page.title, origin=page.origin, date=page.date, url=page.url, article=name),
        paragraphs=page.paragraphs,
        dropped_lines=page.dropped_lines,
        key=key,
    )
    return article, None


def _guarded(parse: Callable[[str, str], tuple[T, list[Problem]]], relative: str, text: str,
             empty: T) -> tuple[T, list[Problem]]:
    """A last resort behind the YAML nesting limit: no file may crash start-up, kb check or the watcher."""
    try:
        return parse(relative, text)
    except RecursionError:
        return empty, [Problem(relative, 1, strings.P_NESTING_UNREADABLE)]


@dataclass(frozen=True)
class _FileRead:
    """What one file gives, independent of the other files (duplicates and a second calendar are
    checked across files in build_snapshot)."""

    problems: tuple[Problem, ...] = ()
    entries: tuple[tuple[Entry | None, tuple[Problem, ...], int], ...] = ()  # entry, its problems, id line
    article: Article | None = None
    calendar: Calendar | None = None
    lexicon: Lexicon | None = None
    pointers: tuple[Pointer, ...] | None = None


# Planning an upload loads the folder twice (before and after) and every reload loads it again, but
# only the uploaded file is new: reading the others (pure-Python YAML) is most of the work and holds
# the GIL while citizens wait. Results are immutable, keyed by path and content.
_READ_CACHE: OrderedDict[tuple[str, str], _FileRead] = OrderedDict()
_READ_CACHE_SIZE = 20_000  # files; a 100k-passage folder has about 10k
_READ_CACHE_LOCK = threading.Lock()
PARALLEL_FILES = 200  # unread files before they are cleaned in worker processes


def _read(relative: str, data: bytes, key: tuple[str, str] | None = None) -> _FileRead:
    key = key or (relative, hashlib.sha256(data).hexdigest())
    with _READ_CACHE_LOCK:
        if (cached := _READ_CACHE.get(key)) is not None:
            _READ_CACHE.move_to_end(key)
            return cached
    result = _read_uncached(relative, data, key[1])
    _remember(key, result)
    if (disk := part_cache.active()) is not None:
        disk.put("read", part_cache.digest(*key), result)
    return result


def _remember(key: tuple[str, str], result: _FileRead) -> None:
    with _READ_CACHE_LOCK:
        _READ_CACHE[key] = result
        while len(_READ_CACHE) > _READ_CACHE_SIZE:
            _READ_CACHE.popitem(last=False)


def _read_all(files: dict[str, bytes]) -> dict[str, _FileRead]:
    """Every file read, from memory, then from the disk cache in one query, then for real."""
    keys = {relative: (relative, hashlib.sha256(data).hexdigest()) for relative, data in files.items()}
    with _READ_CACHE_LOCK:
        known = {relative: _READ_CACHE[key] for relative, key in keys.items() if key in _READ_CACHE}
    disk = part_cache.active()
    if disk is not None and len(known) < len(keys):
        wanted = {part_cache.digest(*key): relative for relative, key in keys.items() if relative not in known}
        for stored, value in disk.get_many("read", wanted).items():
            if isinstance(value, _FileRead):
                known[wanted[stored]] = value
                _remember(keys[wanted[stored]], value)
        unread = [relative for relative in keys if relative not in known]
        read = part_cache.parallel_map(lambda relative: _read_uncached(relative, files[relative], keys[relative][1]),
                                       unread,
                                       PARALLEL_FILES)
        fresh = dict(zip(unread, read, strict=True))
        for relative, value in fresh.items():
            _remember(keys[relative], value)
        disk.put_many("read", {part_cache.digest(*keys[relative]): value for relative, value in fresh.items()})
        known.update(fresh)
    return {relative: known.get(relative) or _read(relative, files[relative], keys[relative]) for relative in files}


def _read_uncached(relative: str, data: bytes, content_hash: str = "") -> _FileRead:
    text, problem = decode(relative, data)
    if problem or text is None:
        return _FileRead(problems=(problem or Problem(relative, 1, strings.P_UNREADABLE),))
    if is_article(relative):
        # The article is made from the path and the bytes alone (by code the cache's version covers).
        key = part_cache.digest("article", relative, content_hash or hashlib.sha256(data).hexdigest())
        article, problem = article_from_text(relative, text, key)
        return _FileRead(problems=(problem,) if problem else (), article=article)
    if is_calendar(relative):
        calendar, file_problems = _guarded(parse_calendar, relative, text, Calendar())
        return _FileRead(problems=tuple(file_problems), calendar=calendar)
    if relative.lower() in LEXICON_FILES:
        lexicon, file_problems = _guarded(parse_lexicon, relative, text, Lexicon())
        return _FileRead(problems=tuple(file_problems), lexicon=lexicon)
    if relative.lower() in POINTER_FILES:
        pointers, file_problems = _guarded(parse_pointers, relative, text, ())
        return _FileRead(problems=tuple(file_problems), pointers=pointers)
    raw_entries, file_problems = _guarded(parse_entries_file, relative, text, [])
    items = []
    for fields, lines, line in raw_entries:
        entry, entry_problems = build_entry(relative, fields, lines, line)
        items.append((entry, tuple(entry_problems), lines.get("id", line)))
    return _FileRead(problems=tuple(file_problems), entries=tuple(items))


def age_order(folder: Path, names: Iterable[str]) -> list[str]:
    """Relative paths oldest first (modification time, then name): on a duplicate id the older file
    keeps its entry and the newer one is blamed."""

    base = str(folder)

    def key(name: str) -> tuple[int, str]:
        try:
            return os.stat(os.path.join(base, name)).st_mtime_ns, name
        except OSError:
            return 0, name

    return sorted(names, key=key)


def build_snapshot(files: dict[str, bytes], oldest_first: Sequence[str] = ()) -> LoadResult:
    """Validates every file; the snapshot holds what is valid, `problems` lists the rest. An id used
    twice stays with the file that comes first in `oldest_first` (files not listed come first, by
    name); the later file is the one blamed, and its entry is left out."""
    problems: list[Problem] = []
    entries: list[Entry] = []
    articles: list[Article] = []
    rank = {name: number for number, name in enumerate(oldest_first)}
    candidates: list[tuple[str, Entry, int]] = []
    calendar: Calendar | None = None
    calendar_path = ""
    lexicon = Lexicon()
    pointers: tuple[Pointer, ...] = ()
    reads = _read_all(files)
    for relative in sorted(files):
        read = reads[relative]
        lexicon = read.lexicon if read.lexicon is not None else lexicon
        pointers = read.pointers if read.pointers is not None else pointers
        if read.calendar is not None and calendar is not None:
            problems.append(Problem(relative, 1, strings.P_SECOND_CALENDAR.format(first=calendar_path)))
            continue
        problems.extend(read.problems)
        if read.article is not None:
            articles.append(read.article)
        if read.calendar is not None:
            calendar, calendar_path = read.calendar, relative
        for entry, entry_problems, id_line in read.entries:
            problems.extend(entry_problems)
            if entry is not None:
                candidates.append((relative, entry, id_line))
    first_seen: dict[str, Entry] = {}
    dropped: set[int] = set()
    for number, (relative, entry, id_line) in sorted(enumerate(candidates),
                                                     key=lambda item: (rank.get(item[1][0], -1), item[1][0])):
        if earlier := first_seen.get(entry.id):
            problems.append(Problem(relative, id_line,
                                    strings.P_DUPLICATE_ID.format(id=entry.id, where=f"{earlier.path}:{earlier.line}")))
            dropped.add(number)
            continue
        first_seen[entry.id] = entry
    entries.extend(entry for number, (_, entry, _) in enumerate(candidates) if number not in dropped)
    snapshot = Snapshot(entries=tuple(entries), articles=tuple(articles), version=content_version(files),
                        calendar=calendar if calendar is not None else Calendar(), lexicon=lexicon,
                        pointers=pointers)
    return LoadResult(snapshot=snapshot, problems=problems)


def load_folder(folder: Path) -> LoadResult:
    if not folder.is_dir():
        return LoadResult(Snapshot(), [Problem(str(folder), 0, strings.P_FOLDER_MISSING)])
    files = read_folder(folder)
    result = build_snapshot(files, age_order(folder, files))
    result.problems = [replace(problem, path=str(folder / problem.path)) for problem in result.problems]
    return result
