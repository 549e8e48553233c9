"""What the index retrieves: curated entries and short passages of articles, as search units."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.model import Article, Entry, Snapshot, Source
from bot.text import normalise

PASSAGE_CHARS = 200
_SENTENCE = re.compile(r"[^。!?;！？；]+(?:[。!?;！？；]+[”’\"」』)]*)?")


@dataclass(frozen=True)
class Unit:
    """One retrievable piece of knowledge.

    `sentences` are display sentences an answer is cut from; `text` is the normalised search text;
    `context` indexes into SearchIndex.contexts: the whole article (or entry) a unit belongs to, so a
    place or year named elsewhere on the same page still counts as evidence.
    """

    kind: str  # "entry" or "passage"
    key: str
    title: str
    sentences: tuple[str, ...]
    text: str
    context: int
    source: Source
    label: str  # how the unit is offered as a suggestion: an entry's question, else its title
    phrasings: tuple[str, ...] = ()


def split_sentences(paragraph: str) -> list[str]:
    return [match.group(0).strip() for match in _SENTENCE.finditer(paragraph) if match.group(0).strip()]


def _passages(paragraph: str) -> list[list[str]]:
    """Groups a paragraph's sentences into passages of about PASSAGE_CHARS characters."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for sentence in split_sentences(paragraph):
        if current and size + len(sentence) > PASSAGE_CHARS:
            groups.append(current)
            current, size = [], 0
        current.append(sentence)
        size += len(sentence)
    if current:
        groups.append(current)
    return groups


def entry_search_text(entry: Entry) -> str:
    parts = [entry.title, entry.question, *entry.alternatives, entry.answer, entry.details, entry.region,
             *entry.tags, entry.extra_text(), entry.date or "", str(entry.year or ""), entry.source.title]
    return normalise(" ".join(part for part in parts if part))


def build_units(snapshot: Snapshot) -> tuple[list[Unit], list[str]]:
    """All units of a snapshot, and the normalised context texts they point into."""
    units: list[Unit] = []
    contexts: list[str] = []
    for entry in snapshot.entries:
        contexts.append(entry_search_text(entry))
        phrasings = tuple(p for p in (entry.question, entry.title, *entry.alternatives) if p)
        # What a citizen reads first (answer) and how the entry is asked for are the unit's own text;
        # details, tags and type-specific fields are its context.
        text = normalise(" ".join((*phrasings, entry.answer, entry.region)))
        # The answer comes first; details and key points may add one supporting sentence.
        supporting = [s for paragraph in entry.details.splitlines() for s in split_sentences(paragraph)]
        supporting.extend(dict(entry.extra).get("key_points", ()))
        units.append(Unit("entry", entry.id, entry.title, (entry.answer, *supporting), text,
                          len(contexts) - 1, entry.source, entry.question or entry.title, phrasings))
    for article in snapshot.articles:
        units.extend(article_units(article, len(contexts)))
        contexts.append(article_context(article))
    return units, contexts


def article_context(article: Article) -> str:
    date = article.source.date or ""
    return normalise(" ".join((article.title, date, *article.paragraphs)))


def article_units(article: Article, context: int) -> list[Unit]:
    units: list[Unit] = []
    for paragraph in article.paragraphs:
        for group in _passages(paragraph):
            key = f"{article.id}#{len(units)}"
            units.append(Unit("passage", key, article.title, tuple(group), normalise("".join(group)),
                              context, article.source, article.title))
    return units
