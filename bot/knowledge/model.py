"""The immutable knowledge the search index is built from."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field

ENTRY_TYPES = ("policy", "event", "faq")
# What kind of page a fact comes from; answers prefer official ones.
SOURCE_KINDS = ("official_doc", "official_news", "media", "qa", "template")
ASKED_KINDS = ("number", "day", "date", "place", "person", "title", "theme", "organisation", "list")


@dataclass(frozen=True)
class Source:
    """Where a fact comes from, as shown under an answer."""

    title: str
    origin: str
    date: str | None = None
    url: str | None = None
    article: str | None = None
    kind: str | None = None  # one of SOURCE_KINDS, when known

    def as_json(self) -> dict[str, str | None]:
        return {"title": self.title, "date": self.date, "origin": self.origin, "kind": self.kind}


@dataclass(frozen=True)
class Entry:
    """A curated policy, event or FAQ from a YAML file."""

    id: str
    type: str
    title: str
    answer: str
    source: Source
    path: str
    line: int
    details: str = ""
    region: str = ""
    date: str | None = None
    year: int | None = None
    question: str = ""
    tags: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()
    # Type-specific fields (issuer, number, key_points, place, organisers, theme, key_figures).
    extra: tuple[tuple[str, str | tuple[str, ...]], ...] = ()

    def extra_text(self) -> str:
        parts: list[str] = []
        for _, value in self.extra:
            parts.extend(value if isinstance(value, tuple) else (value,))
        return " ".join(parts)


@dataclass(frozen=True)
class Article:
    """A raw page after cleaning: Simplified display text split into paragraphs."""

    id: str
    path: str
    title: str
    source: Source
    paragraphs: tuple[str, ...]
    dropped_lines: int = 0
    # What the index cache knows the page by: its path and file content, which the article is made from.
    # Given by the loader, so a start-up does not hash every page's text again; "" for an article made
    # otherwise (the index then digests its text). Not part of equality or the text shown.
    key: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class CalendarRule:
    """One reminder: every year on month-day, or on every given weekday of a month, at a local time."""

    id: str
    text: str
    time: dt.time
    path: str
    line: int
    month: int | None = None
    day: int | None = None
    weekday: int | None = None  # 0 = Monday, as in datetime.weekday()

    def __post_init__(self) -> None:
        # Exactly one schedule shape, so next_occurrence never has to guess.
        if self.month is None or (self.day is None) == (self.weekday is None):
            raise ValueError(f"reminder '{self.id}' needs month + day or month + weekday")


@dataclass(frozen=True)
class Calendar:
    """All valid reminders of one knowledge version; immutable, swapped whole with the Snapshot."""

    rules: tuple[CalendarRule, ...] = ()
    # (year, theme) pairs sorted by year: a tuple keeps the calendar frozen and hashable.
    themes: tuple[tuple[int, str], ...] = ()

    def theme(self, year: int) -> str | None:
        return next((theme for theme_year, theme in self.themes if theme_year == year), None)


@dataclass(frozen=True)
class Lexicon:
    """The word lists questions are read with (knowledge/lexicon.yaml), in normalised form."""

    terms: frozenset[str] = frozenset()  # names the segmenter keeps whole
    stopwords: frozenset[str] = frozenset()
    frame_words: frozenset[str] = frozenset()
    question_words: frozenset[str] = frozenset()
    asked_kinds: frozenset[str] = frozenset()
    titles: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, ...], ...] = ()
    asked: tuple[tuple[str, tuple[str, ...]], ...] = ()  # kind of fact -> words that ask for it


@dataclass(frozen=True)
class Pointer:
    """Where to go with a question this bot does not answer (knowledge/pointers.yaml)."""

    id: str
    topic: str
    keywords: tuple[str, ...]
    answer: str
    source: Source
    path: str
    line: int


@dataclass(frozen=True)
class Snapshot:
    """One consistent version of the knowledge; swapped whole, never mutated."""

    entries: tuple[Entry, ...] = ()
    articles: tuple[Article, ...] = ()
    version: str = field(default="")
    calendar: Calendar = field(default_factory=Calendar)
    lexicon: Lexicon = field(default_factory=Lexicon)
    pointers: tuple[Pointer, ...] = ()

    def source_counts(self) -> tuple[int, dict[str, int]]:
        """Distinct source addresses, and entries and pointers per source kind ('unknown' when unsaid)."""
        sources = [entry.source for entry in self.entries] + [pointer.source for pointer in self.pointers]
        kinds = Counter(source.kind or "unknown" for source in sources)
        return len({source.url for source in sources if source.url}), dict(kinds.most_common())

    def counts(self) -> dict[str, int]:
        counts = Counter(entry.type for entry in self.entries)
        result = {kind: counts.get(kind, 0) for kind in ENTRY_TYPES}
        result["article"] = len(self.articles)
        result["reminder"] = len(self.calendar.rules)
        return result


def content_version(files: dict[str, bytes]) -> str:
    """A short hash over file names and bytes: equal knowledge gives an equal version."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + files[name] + b"\0")
    return digest.hexdigest()[:12]
