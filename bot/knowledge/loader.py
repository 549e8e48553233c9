"""Loads a knowledge folder (or an in-memory set of files) into a validated Snapshot.

Layout: `*.yaml` / `*.yml` files hold curated entries, except a top-level `calendar.yaml` (or `.yml`), which
holds the Quality Month reminder calendar; `articles/*.txt` / `articles/*.md` hold raw scraped pages, cleaned
on load. Folders whose names start with '.' or '_' (history, drafts) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TypeVar

from bot.knowledge.cleaning import clean_page
from bot.knowledge.model import Article, Entry, Snapshot, Source, content_version
from bot.knowledge.schema import Problem, build_entry, parse_entries_file
from bot.reminders.calendar import Calendar, parse_calendar

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


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every knowledge file below `folder`, keyed by its POSIX path relative to the folder."""
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and is_knowledge_file(relative):
            files[relative] = path.read_bytes()
    return files


def decode(relative: str, data: bytes) -> tuple[str | None, Problem | None]:
    """UTF-8 text of a file, or the reason it cannot be used."""
    if not data.strip():
        return None, Problem(relative, 1, "file is empty")
    if len(data) > MAX_FILE_BYTES:
        return None, Problem(relative, 1, f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    if b"\0" in data:
        return None, Problem(relative, data[: data.index(b"\0")].count(b"\n") + 1,
                             "binary data (NUL byte): not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, Problem(relative, line, f"not valid UTF-8 (byte {error.start}); save the file as UTF-8")
    return text.removeprefix("\ufeff"), None


def article_from_text(relative: str, text: str) -> tuple[Article | None, Problem | None]:
    name = PurePosixPath(relative).name
    page = clean_page(text, name)
    if not page.paragraphs:
        return None, Problem(relative, 1, "no article text left after cleaning (only navigation or noise?)")
    article = Article(
        id=PurePosixPath(relative).stem,
        path=relative,
        title=page.title,
        source=Source(title=page.title, origin=page.origin, date=page.date, url=page.url, article=name),
        paragraphs=page.paragraphs,
        dropped_lines=page.dropped_lines,
    )
    return article, None


def _guarded(parse: Callable[[str, str], tuple[T, list[Problem]]], relative: str, text: str,
             empty: T) -> tuple[T, list[Problem]]:
    """A last resort behind the YAML nesting limit: no file may crash start-up, kb check or the watcher."""
    try:
        return parse(relative, text)
    except RecursionError:
        return empty, [Problem(relative, 1, "nesting too deep to read")]


def build_snapshot(files: dict[str, bytes]) -> LoadResult:
    """Validates every file; the snapshot holds what is valid, `problems` lists the rest."""
    problems: list[Problem] = []
    entries: list[Entry] = []
    articles: list[Article] = []
    first_seen: dict[str, Entry] = {}
    calendar: Calendar | None = None
    calendar_path = ""
    for relative in sorted(files):
        text, problem = decode(relative, files[relative])
        if problem or text is None:
            problems.append(problem or Problem(relative, 1, "unreadable"))
            continue
        if is_article(relative):
            article, problem = article_from_text(relative, text)
            if problem:
                problems.append(problem)
            elif article:
                articles.append(article)
            continue
        if is_calendar(relative):
            if calendar is not None:
                problems.append(Problem(relative, 1, f"a second calendar file; only {calendar_path} is used"))
                continue
            calendar, file_problems = _guarded(parse_calendar, relative, text, Calendar())
            calendar_path = relative
            problems.extend(file_problems)
            continue
        raw_entries, file_problems = _guarded(parse_entries_file, relative, text, [])
        problems.extend(file_problems)
        for fields, lines, line in raw_entries:
            entry, entry_problems = build_entry(relative, fields, lines, line)
            problems.extend(entry_problems)
            if entry is None:
                continue
            if earlier := first_seen.get(entry.id):
                problems.append(Problem(relative, lines.get("id", line),
                                        f"duplicate id '{entry.id}' (first used at {earlier.path}:{earlier.line})"))
                continue
            first_seen[entry.id] = entry
            entries.append(entry)
    snapshot = Snapshot(entries=tuple(entries), articles=tuple(articles), version=content_version(files),
                        calendar=calendar if calendar is not None else Calendar())
    return LoadResult(snapshot=snapshot, problems=problems)


def load_folder(folder: Path) -> LoadResult:
    if not folder.is_dir():
        return LoadResult(Snapshot(), [Problem(str(folder), 0, "knowledge folder not found")])
    result = build_snapshot(read_folder(folder))
    result.problems = [replace(problem, path=str(folder / problem.path)) for problem in result.problems]
    return result
