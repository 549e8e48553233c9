"""Retrieval and corpus statistics.

Candidates come from a tantivy (compiled BM25) index holding two views of every unit: its words as
the segmenter cuts them, and its character bigrams, which need no segmentation and so survive a
question cut differently from a page. The Python side keeps only what the question analysis needs:
document frequencies of bigrams and which characters each pinyin syllable stands for.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache

import tantivy
from pypinyin import lazy_pinyin

from bot.answers.units import Unit, article_context, article_units, entry_units
from bot.knowledge import cache as part_cache
from bot.knowledge.cache import PartCache
from bot.knowledge.model import Article, Snapshot
from bot.text import cjk_bigrams, normalise

log = logging.getLogger(__name__)
DONE = "complete"  # written last into a built index folder: a folder without it is half-built

_INDEXED_WORD = re.compile(r"[0-9a-z\u3400-\u9fff]")
_ASCII_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
QUESTION_CHARS = "谁哪什么几吗呢多少时候里儿怎样是的了有在年月日"
SPOKEN_READINGS = {"shei": "谁", "sha": "啥", "zha": "咋", "nei": "哪"}  # readings pypinyin does not give first


@lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    return lazy_pinyin(char)[0]


# The pages of the last build, by key, as they were numbered then: a reload reuses them (Units are
# immutable) instead of reading them back from the cache. Replaced whole by every build.
_RECENT: dict[str, tuple[tuple[Unit, ...], str]] = {}
_KEYS: dict[Article, str] = {}  # the articles' keys, so a reload hashes only the changed pages


def forget_recent_pages() -> None:
    """Drops the pages remembered from the last build, as a new process starts (used by tests)."""
    global _RECENT, _KEYS
    _RECENT, _KEYS = {}, {}


def _units(snapshot: Snapshot, cache: PartCache | None) -> tuple[list[Unit], list[str], list[str], int]:
    """The snapshot's units and contexts (as build_units makes them), a key per unit's page (the
    entries together, "" when uncached, then each article by its content) and how many pages were
    cut anew rather than read from the cache."""
    global _RECENT, _KEYS
    units, contexts = entry_units(snapshot.entries)
    entries_key = part_cache.digest("entries", repr(snapshot.entries)) if cache else ""
    keys = [entries_key] * len(units)
    article_keys = [article_key(article) for article in snapshot.articles] if cache else []
    recent = _RECENT
    stored = cache.get_many("units", [key for key in article_keys if key not in recent]) if cache else {}
    made: dict[str, tuple[tuple[Unit, ...], str]] = {}
    built: dict[str, tuple[tuple[Unit, ...], str]] = {}
    for number, article in enumerate(snapshot.articles):
        key = article_keys[number] if cache else ""
        context = len(contexts)
        if key and key in recent:
            page_units, text = recent[key]
            if page_units and page_units[0].context != context:
                page_units = tuple(replace(unit, context=context) for unit in page_units)
        elif key and isinstance(part := stored.get(key), tuple) and len(part) == 2:
            page_units, text = part
            # Unpickled copies are this build's own: numbering them in place is safe.
            for unit in page_units:
                object.__setattr__(unit, "context", context)
        else:
            page_units, text = tuple(article_units(article, 0)), article_context(article)
            if key:
                made[key] = (page_units, text)
            page_units = tuple(replace(unit, context=context) for unit in page_units)
        if key:
            built[key] = (page_units, text)
        units.extend(page_units)
        contexts.append(text)
        keys.extend([key or f"#{number}"] * len(page_units))
    if cache:
        cache.put_many("units", made)
        _RECENT = built
        _KEYS = {article: key for article, key in zip(snapshot.articles, article_keys, strict=True)}
    return units, contexts, keys, len(made)


def _pages(keys: list[str], units: list[Unit]) -> list[tuple[str, int, int]]:
    """(key, first unit, end) of each run of units from one page; "" keys for uncached pages."""
    pages: list[tuple[str, int, int]] = []
    start = 0
    for number in range(1, len(keys) + 1):
        if number == len(keys) or keys[number] != keys[start]:
            key = keys[start]
            pages.append(("" if key.startswith("#") else key, start, number))
            start = number
    return pages


def quoted_terms(articles: tuple[Article, ...], pattern: re.Pattern[str]) -> set[str]:
    """Terms the pages write in quotes (`pattern`'s first or second group), page by page from the cache."""
    cache = part_cache.active()
    kind = f"quoted-{part_cache.digest(pattern.pattern)}"
    keys = [article_key(article) for article in articles] if cache else []
    stored = cache.get_many(kind, keys) if cache else {}
    made: dict[str, frozenset[str]] = {}
    terms: set[str] = set()
    for number, article in enumerate(articles):
        part = stored.get(keys[number]) if cache else None
        if not isinstance(part, frozenset):
            part = frozenset(match.group(1) or match.group(2) for paragraph in article.paragraphs
                             for match in pattern.finditer(normalise(paragraph)))
            if cache:
                made[keys[number]] = part
        terms.update(part)
    if cache:
        cache.put_many(kind, made)
    return terms


def article_key(article: Article) -> str:
    if (key := _KEYS.get(article)) is None:
        key = part_cache.digest("article", repr(article))
    return key


def index_terms(text: str) -> list[str]:
    """Terms of normalised text: CJK bigrams plus ASCII words and numbers."""
    return cjk_bigrams(text) + _ASCII_TOKEN.findall(text)


class SearchIndex:
    """Immutable once built; a new snapshot gets a new index, swapped in whole.

    `vocabulary` is the words the segmenter was given on top of its dictionary: segmentation is
    cached per page under it. With a part cache (bot.knowledge.cache), the per-page work (units and
    their slots, bigrams, words) and the whole-corpus parts (document frequencies, pinyin map, the
    tantivy index on disk) are read back when their inputs are unchanged; the result is the same
    index a fresh build makes, document for document and in the same order.
    """

    def __init__(self, snapshot: Snapshot, segment: Callable[[str], list[str]],
                 vocabulary: Iterable[str] | None = None, cache: PartCache | bool | None = True) -> None:
        self.snapshot = snapshot
        self.cache = part_cache.active() if cache is True else (cache or None)
        self.vocabulary_key = part_cache.digest(*sorted(vocabulary)) if vocabulary is not None else None
        if self.vocabulary_key is None:
            self.cache = None  # words cannot be cached without knowing what the segmenter was given
        self.units: list[Unit]
        self.contexts: list[str]
        self.units, self.contexts, self._keys, self.pages_made = _units(snapshot, self.cache)
        self.size = len(self.units)
        self.df: dict[str, int] = {}
        self.chars_by_syllable: dict[str, list[str]] = {}
        self.char_weight: dict[str, int] = {}
        self.corpus_key = part_cache.digest(self.vocabulary_key or "", *self._keys)
        stats = self.cache.get("stats", self.corpus_key) if self.cache else None
        grams: list[str] | None = None
        if isinstance(stats, tuple) and len(stats) == 3:
            self.df, self.char_weight, self.chars_by_syllable = stats
        else:
            grams = self._grams()
            self._count(grams)
            self._build_pinyin_map()
            if self.cache:
                self.cache.replace_only("stats", self.corpus_key, (self.df, self.char_weight, self.chars_by_syllable))
        self._build(segment, grams)

    # --- building -----------------------------------------------------------------------------
    def _grams(self) -> list[str]:
        """Each unit's bigrams and ASCII terms, space-joined, page by page from the cache."""
        return self._per_page("grams", lambda units: [" ".join(index_terms(unit.text)) for unit in units])

    def _words(self, segment: Callable[[str], list[str]]) -> list[str]:
        def cut(units: list[Unit]) -> list[str]:
            return [" ".join(word for word in segment(unit.text) if _INDEXED_WORD.search(word)) for unit in units]

        kind = f"words-{self.vocabulary_key}"
        if self.cache and not self.cache.has(kind):
            self.cache.forget("words-", prefix=True)  # a new vocabulary: words cut with the old one are dead
        return self._per_page(kind, cut)

    def _per_page(self, kind: str, make: Callable[[list[Unit]], list[str]]) -> list[str]:
        pages = _pages(self._keys, self.units)
        stored = self.cache.get_many(kind, [key for key, _, _ in pages if key]) if self.cache else {}
        made: dict[str, list[str]] = {}
        out: list[str] = []
        for key, start, stop in pages:
            part = stored.get(key) if key else None
            if not isinstance(part, list) or len(part) != stop - start:
                part = make(self.units[start:stop])
                if key:
                    made[key] = part
            out.extend(part)
        if self.cache:
            self.cache.put_many(kind, made)
        return out

    def _count(self, grams: list[str]) -> None:
        df: Counter[str] = Counter()
        for terms in grams:
            df.update(set(terms.split()))
        self.df = dict(df)

    def _schema(self) -> tantivy.Schema:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("words", tokenizer_name="whitespace")  # already normalised and segmented
        builder.add_text_field("grams", tokenizer_name="whitespace")
        builder.add_unsigned_field("unit", stored=True)
        return builder.build()

    def _build(self, segment: Callable[[str], list[str]], grams: list[str] | None) -> None:
        self.schema = self._schema()
        folder = self.cache.index_folder(self.corpus_key) if self.cache else None
        if folder is not None and (folder / DONE).is_file():
            try:
                self.tantivy = tantivy.Index(self.schema, path=str(folder), reuse=True)
                self.tantivy.reload()
                self.searcher = self.tantivy.searcher()
                if self.searcher.num_docs == self.size:
                    self.cache.drop_index_folders(keep=folder)
                    return
            except (OSError, ValueError) as error:
                log.warning("cached index unreadable, rebuilding: %s", error)
        grams = grams if grams is not None else self._grams()
        words = self._words(segment)
        building = folder.with_name(folder.name + f".{os.getpid()}.{threading.get_ident()}.tmp") if folder else None
        if building is not None:
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
        self.tantivy = tantivy.Index(self.schema, path=str(building) if building else None)
        writer = self.tantivy.writer(num_threads=1)
        for number, (unit_words, unit_grams) in enumerate(zip(words, grams, strict=True)):
            writer.add_document(tantivy.Document(words=unit_words, grams=unit_grams, unit=number))
        writer.commit()
        writer.wait_merging_threads()
        if building is not None and folder is not None:
            del writer
            (building / DONE).write_text(self.corpus_key, encoding="ascii")
            try:
                if folder.exists():
                    shutil.rmtree(folder, ignore_errors=True)
                building.rename(folder)
                self.tantivy = tantivy.Index(self.schema, path=str(folder), reuse=True)
                if self.cache:
                    self.cache.drop_index_folders(keep=folder)
            except OSError as error:  # another build of the same corpus won the race: use ours
                log.info("index folder taken: %s", error)
        self.tantivy.reload()
        self.searcher = self.tantivy.searcher()

    def search(self, words: dict[str, float], grams: dict[str, float], limit: int) -> list[tuple[int, float]]:
        """The best `limit` units by BM25 over both views, each term boosted by its query weight."""
        should = tantivy.Occur.Should
        clauses = [
            (should, tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, field, term), boost))
            for field, terms in (("words", words), ("grams", grams))
            for term, boost in terms.items() if term and not any(c.isspace() for c in term)
        ]
        if not clauses:
            return []
        hits = self.searcher.search(tantivy.Query.boolean_query(clauses), limit=limit, count=False).hits
        return [(self.searcher.doc(address)["unit"][0], score) for score, address in hits]

    def _build_pinyin_map(self) -> None:
        """Which corpus characters each toneless syllable can stand for, most frequent first."""
        char_counts: Counter[str] = Counter()
        for term, df in self.df.items():
            for char in term:
                if _CJK_CHAR.match(char):
                    char_counts[char] += df
        # Question words are rarely on the pages but often typed in pinyin ("shi shei").
        for char in QUESTION_CHARS:
            char_counts[char] += 0
        self.char_weight = dict(char_counts)
        by_syllable: dict[str, list[str]] = defaultdict(list)
        for char, _ in sorted(char_counts.items(), key=lambda item: -item[1]):
            syllable = _syllable(char)
            if syllable.isascii() and syllable.isalpha():
                by_syllable[syllable].append(char)
                if "ve" in syllable:  # pypinyin writes ü as v (lve); people type lue
                    by_syllable[syllable.replace("ve", "ue")].append(char)
        for syllable, char in SPOKEN_READINGS.items():
            by_syllable[syllable].append(char)
        self.chars_by_syllable = dict(by_syllable)

    def idf(self, df: int) -> float:
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def term_df(self, term: str) -> int:
        return self.df.get(term, 0)

    def phrase_df(self, phrase: str) -> int:
        """Upper bound of the units that contain `phrase`: the rarest of its terms. A lone
        character is not indexed on its own; it counts as present when any bigram holds it."""
        terms = [term for term in index_terms(phrase) if len(term) > 1 or not _CJK_CHAR.match(term)]
        if not terms:
            return min((self.char_weight.get(char, 0) for char in phrase), default=0)
        return min(self.df.get(term, 0) for term in terms)
