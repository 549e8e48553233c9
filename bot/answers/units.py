"""What the index retrieves: curated entries and short passages of articles, as search units."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answers.slots import NATIONAL, Gazetteer, Place, is_national, ordinals, relative_years, written_years, year_of
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
    slots: UnitSlots | None = None
    extra: str = ""  # normalised text that is searched for but is not the unit's own (an entry's details)

    def fold(self, text: str) -> str:
        """The matching form of text cut from this unit. A page's passages are cut from cleaned
        lines, already in display form (Simplified, width-folded), so lower case is all they need,
        and a passage first met is not normalised in full; an entry is written by hand."""
        return text.lower() if self.kind == "passage" else normalise(text)

    @property
    def indexed_text(self) -> str:
        """What retrieval matches: the unit's own text and, for an entry, its details too."""
        return f"{self.text} {self.extra}" if self.extra else self.text


@dataclass(frozen=True)
class UnitSlots:
    """What a unit is about, read once at load time: the years it speaks of, and its scope, the
    places it is about (empty: national or unknown)."""

    years: frozenset[int]  # written in the unit, or its page's year when the unit names none
    page_year: int | None
    scope: tuple[Place, ...]
    named: frozenset[str]  # codes of every place named in the unit's own text
    national: bool  # the unit speaks of the whole country: 全国, 国务院, … or an entry of region 全国
    rounds: frozenset[tuple[int, str]] = frozenset()  # 第三届, 第一次 … written in the unit

    def describe(self) -> str:
        """The slot values as shown to admins and on suggestion buttons: 2017年 江西省."""
        year = self.page_year if self.page_year in self.years else max(self.years, default=None)
        parts = [f"{year}年"] if year else []
        parts.extend(place.name for place in self.scope[:2])
        if self.national and not self.scope:
            parts.append("全国")
        return " ".join(parts)


def read_slots(own_text: str, page_year: int | None, page_places: tuple[Place, ...],
               extra_years: tuple[int, ...] = (), current: tuple[Place, ...] = ()) -> UnitSlots:
    """Slots of a unit from its own text, falling back for what it leaves open on the place the
    page was last speaking of (`current`) and the page itself. A place counts as named only when
    the unit or its page's title writes it, never when it is only carried over."""
    gazetteer = Gazetteer.shared()
    own_places = tuple(gazetteer.find(own_text))
    years = written_years(own_text) | relative_years(own_text, page_year) | set(extra_years)
    if not years and page_year is not None:
        years = {page_year}
    scope = own_places or current or page_places
    named = {p.code for p in (*own_places, *page_places)}
    return UnitSlots(frozenset(years), page_year, _narrowest(scope), frozenset(named), is_national(own_text),
                     ordinals(own_text))


def _narrowest(places: tuple[Place, ...]) -> tuple[Place, ...]:
    """Drops a place when a narrower place inside it is also named: a passage naming 湖南省 and
    郴州 is about both, but a region written 浙江省金华市 is about 金华."""
    return tuple(p for p in places if not any(o is not p and o.within(p) and o.level != p.level for o in places))


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
    units, contexts = entry_units(snapshot.entries)
    for article in snapshot.articles:
        units.extend(article_units(article, len(contexts)))
        contexts.append(article_context(article))
    return units, contexts


def entry_units(entries: tuple[Entry, ...]) -> tuple[list[Unit], list[str]]:
    """The units of the curated entries, which come first, and their contexts (one per entry)."""
    units: list[Unit] = []
    contexts: list[str] = []
    for entry in entries:
        contexts.append(entry_search_text(entry))
        phrasings = tuple(p for p in (entry.question, entry.title, *entry.alternatives) if p)
        # What a citizen reads first (answer) and how the entry is asked for are the unit's own text;
        # details, tags and type-specific fields are its context.
        text = normalise(" ".join((*phrasings, entry.answer, entry.region)))
        # The answer comes first; details and key points may add one supporting sentence.
        supporting = [s for paragraph in entry.details.splitlines() for s in split_sentences(paragraph)]
        supporting.extend(dict(entry.extra).get("key_points", ()))
        units.append(Unit("entry", entry.id, entry.title, (entry.answer, *supporting), text,
                          len(contexts) - 1, entry.source, entry.question or entry.title, phrasings,
                          entry_slots(entry), normalise(" ".join(supporting))))
    return units, contexts


def entry_slots(entry: Entry) -> UnitSlots:
    """An entry's scope is its region (全国 or a place); its years are those it states."""
    gazetteer = Gazetteer.shared()
    own = normalise(" ".join((entry.title, entry.question, entry.answer, entry.details, entry.extra_text())))
    year = entry.year or year_of(entry.date)
    region = normalise(entry.region)
    places = _narrowest(tuple(gazetteer.find(region)))
    slots = read_slots(own, year, places, (year,) if year else ())
    national = not places and (region == NATIONAL or slots.national)
    return UnitSlots(slots.years, year, places, slots.named, national, slots.rounds)


def article_context(article: Article) -> str:
    # A page's lines were put in display form when it was cleaned: lower case makes them matchable
    # (normalising 100k passages again was seconds of a full rebuild).
    date = article.source.date or ""
    return " ".join((article.title, date, *article.paragraphs)).lower()


def article_units(article: Article, context: int) -> list[Unit]:
    page_year = year_of(article.source.date) or min(written_years(normalise(article.title)), default=None)
    page_places = _narrowest(tuple(Gazetteer.shared().find(normalise(article.title))))
    units: list[Unit] = []
    current: tuple[Place, ...] = ()  # the place the page last named: it is meant until another is
    for paragraph in article.paragraphs:
        for group in _passages(paragraph):
            key = f"{article.id}#{len(units)}"
            text = "".join(group).lower()  # cleaned lines, as in article_context
            slots = read_slots(text, page_year, page_places, current=current)
            current = slots.scope or current
            units.append(Unit("passage", key, article.title, tuple(group), text, context, article.source,
                              article.title, (), slots))
    return units
