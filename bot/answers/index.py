"""Retrieval and corpus statistics.

Candidates come from a tantivy (compiled BM25) index holding two views of every unit: its words as
the segmenter cuts them, and its character bigrams, which need no segmentation and so survive a
question cut differently from a page. The Python side keeps only what the question analysis needs:
document frequencies of bigrams and which characters each pinyin syllable stands for.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import math
import os
import pickle
import re
import shutil
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import tantivy
from pypinyin import lazy_pinyin

from bot.answers.units import Unit, article_context, article_units, entry_units
from bot.knowledge import cache as part_cache
from bot.knowledge.cache import PartCache
from bot.knowledge.model import Article, Snapshot
from bot.text import cjk_bigrams

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
_RECENT: dict[str, tuple[Corpus, int]] = {}  # page key -> the build holding it and its context there
_KEYS: dict[Article, str] = {}  # the articles' keys, so a reload hashes only the changed pages


# The last build's corpus figures (cache, page keys, df, char weights): the next build adjusts them
# by the pages that changed. And the tantivy index opened on the cache's folder, reused by reloads.
_LAST_STATS: tuple | None = None
_OPEN: dict[str, tantivy.Index] = {}
_INDEX_LOCK = threading.Lock()
# Past this many changed pages (or this share of all) a fresh count or index is as quick.
INCREMENTAL_PAGES = 50
INCREMENTAL_SHARE = 0.2
PAGE_SHIFT = 20  # a document's "doc" value: page id << PAGE_SHIFT | its place on the page
OFFSET_MASK = (1 << PAGE_SHIFT) - 1
PARALLEL_AT = 4000  # texts to segment before worker processes pay for themselves
PARALLEL_PAGES = 300  # and new pages to cut
# From this many texts (or a tenth as many pages) to cut, building jieba-rs's dictionary (0.4 s) pays.
BULK_TEXTS = 600


def forget_recent_pages() -> None:
    """Drops what is remembered from the last build, as a new process starts (used by tests)."""
    global _RECENT, _KEYS, _LAST_STATS
    _RECENT, _KEYS, _LAST_STATS = {}, {}, None
    with _INDEX_LOCK:
        _OPEN.clear()


def pages_unmade(snapshot: Snapshot) -> int:
    """How many of the snapshot's pages the active cache holds no terms for: all of them for a full
    rebuild, one for a page edited. Without a cache, every page."""
    cache = part_cache.active()
    if cache is None:
        return len(snapshot.articles)
    keys = [article_key(article) for article in snapshot.articles]
    return len(keys) - len(cache.known("grams", keys))


def built_elsewhere() -> None:
    """Another process has just built the cache's parts and index folder: read them from disk, not
    from what this process remembers of its own last build."""
    global _LAST_STATS
    with _INDEX_LOCK:
        _OPEN.clear()  # the engines that use it keep their own reference
        _LAST_STATS = None


def _read_state(folder: Path) -> dict | None:
    """What an index folder holds (written last, so a folder without it is half-built or half-updated)."""
    try:
        state = json.loads((folder / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("pages"), dict) else None


def _write_state(folder: Path, state: dict) -> None:
    scratch = folder / f"{DONE}.tmp"
    scratch.write_text(json.dumps(state), encoding="utf-8")
    scratch.replace(folder / DONE)


def _char_weight(df: dict[str, int]) -> dict[str, int]:
    """How often each corpus character occurs (summed over the bigrams holding it)."""
    counts: Counter[str] = Counter()
    for term, count in df.items():
        for char in term:
            if _CJK_CHAR.match(char):
                counts[char] += count
    # Question words are rarely on the pages but often typed in pinyin ("shi shei").
    for char in QUESTION_CHARS:
        counts[char] += 0
    return dict(counts)


def _syllables(char_weight: dict[str, int]) -> dict[str, list[str]]:
    """Which corpus characters each toneless syllable can stand for, most frequent first."""
    by_syllable: dict[str, list[str]] = defaultdict(list)
    for char, _ in sorted(char_weight.items(), key=lambda item: (-item[1], item[0])):
        syllable = _syllable(char)
        if syllable.isascii() and syllable.isalpha():
            by_syllable[syllable].append(char)
            if "ve" in syllable:  # pypinyin writes ü as v (lve); people type lue
                by_syllable[syllable.replace("ve", "ue")].append(char)
    for syllable, char in SPOKEN_READINGS.items():
        by_syllable[syllable].append(char)
    return dict(by_syllable)


def _let_others_run(step: int) -> None:
    """Every few hundred steps of a long loop, hands the GIL over at once: a thread answering a
    citizen would otherwise wait up to the interpreter's switch interval (5 ms) for it each time."""
    if step % 256 == 255:
        time.sleep(0)


def _indexed_words(segment: Callable[[str], list[str]], text: str) -> str:
    # filter() calls the bound search in C: no Python frame per word (70 words a passage).
    return " ".join(filter(_INDEXED_WORD.search, segment(text)))


def _bulk(segment: Callable[[str], list[str]], count: int, at: int) -> contextlib.AbstractContextManager[None]:
    """A segmenter's bulk mode (segment.Segmenter: jieba-rs) for `count` texts or pages, from `at` on:
    below that, setting it up costs more than it saves."""
    bulk = getattr(segment, "bulk", None)
    return bulk() if bulk is not None and count >= at else contextlib.nullcontext()


def segment_all(segment: Callable[[str], list[str]], texts: list[str]) -> list[str]:
    """Each text's indexed words, space-joined; many texts in worker processes (jieba is pure Python)."""
    with _bulk(segment, len(texts), BULK_TEXTS):
        return part_cache.parallel_map(lambda text: _indexed_words(segment, text), texts, PARALLEL_AT)


def _cut_page(article: Article, segment: Callable[[str], list[str]]) -> tuple[int, bytes, list[str], list[str]]:
    """All of a page's own work, done once (in a worker when many pages are new): its units, pickled
    with its context text, and each unit's bigrams and words."""
    units = tuple(article_units(article, 0))
    blob = pickle.dumps((units, article_context(article)), protocol=pickle.HIGHEST_PROTOCOL)
    return (len(units), blob, [" ".join(index_terms(unit.indexed_text)) for unit in units],
            [_indexed_words(segment, unit.indexed_text) for unit in units])


class Corpus(Sequence[Unit]):
    """A build's units, entries first and then page by page, with the pages' context texts. A page
    read from the cache stays pickled until one of its units or its text is asked for: a start-up
    opens the cache without rebuilding every passage, and a question unpickles only the pages of its
    candidates."""

    def __init__(self) -> None:
        self._units: list[Unit | None] = []
        self._texts: list[str | None] = []
        self._spans: dict[int, tuple[int, int]] = {}  # a page's context -> (first unit, unit count)
        self._pickled: dict[int, bytes] = {}  # context -> pickled (units, text) of a page not read yet
        self._lazy_starts: list[int] = []  # first unit of each page added pickled, ascending
        self._lazy_contexts: list[int] = []
        self._lock = threading.Lock()
        self.contexts = _Contexts(self)

    def add(self, units: Sequence[Unit], text: str) -> None:
        """A page (or an entry) whose units already carry this context number (len(contexts))."""
        self._spans[len(self._texts)] = (len(self._units), len(units))
        self._units.extend(units)
        self._texts.append(text)

    def add_pickled(self, blob: bytes, count: int) -> None:
        context = len(self._texts)
        self._spans[context] = (len(self._units), count)
        self._lazy_starts.append(len(self._units))
        self._lazy_contexts.append(context)
        self._pickled[context] = blob
        self._units.extend([None] * count)
        self._texts.append(None)

    def next_context(self) -> int:
        return len(self._texts)

    def page(self, context: int) -> tuple[bytes | None, int, tuple[Unit, ...], str]:
        """A page as held: (pickled, unit count, (), "") while unread, else (None, count, units, text)."""
        start, count = self._spans[context]
        blob = self._pickled.get(context)
        if blob is not None:
            return blob, count, (), ""
        return None, count, tuple(self[start : start + count]), self.context(context)

    def _read(self, context: int) -> None:
        with self._lock:
            blob = self._pickled.pop(context, None)
            if blob is None:
                return  # read meanwhile by another thread
            units, text = pickle.loads(blob)
            start = self._spans[context][0]
            for offset, unit in enumerate(units):
                object.__setattr__(unit, "context", context)  # unpickled copies are this build's own
                self._units[start + offset] = unit
            self._texts[context] = text

    def context(self, number: int) -> str:
        text = self._texts[number]
        if text is None:
            self._read(number)
            text = self._texts[number]
        return text  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._units)

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self[number] for number in range(*position.indices(len(self._units)))]
        unit = self._units[position]
        if unit is None:
            number = position if position >= 0 else position + len(self._units)
            self._read(self._lazy_contexts[bisect.bisect_right(self._lazy_starts, number) - 1])
            unit = self._units[position]
        return unit

    def __iter__(self):  # type: ignore[override]
        return (self[number] for number in range(len(self._units)))


class _Contexts(Sequence[str]):
    """The context texts of a Corpus, read as their pages are."""

    def __init__(self, corpus: Corpus) -> None:
        self._corpus = corpus

    def __len__(self) -> int:
        return len(self._corpus._texts)

    def __getitem__(self, number):  # type: ignore[override]
        if isinstance(number, slice):
            return [self[n] for n in range(*number.indices(len(self)))]
        return self._corpus.context(number)


def _units(snapshot: Snapshot, cache: PartCache | None, segment: Callable[[str], list[str]]
           ) -> tuple[Corpus, list[str], dict[str, tuple[list[str], list[str]]]]:
    """The snapshot's units and contexts (as build_units makes them), a key per unit's page (the
    entries together, "" when uncached, then each article by its content) and the bigrams and words
    of the pages cut anew rather than read from the cache, by key."""
    global _RECENT, _KEYS
    corpus = Corpus()
    entry_list, entry_contexts = entry_units(snapshot.entries)
    for unit, text in zip(entry_list, entry_contexts, strict=True):  # one unit and context per entry
        corpus.add((unit,), text)
    entries_key = part_cache.digest("entries", repr(snapshot.entries)) if cache else ""
    keys = [entries_key] * len(entry_list)
    article_keys = [article_key(article) for article in snapshot.articles] if cache else []
    recent = _RECENT
    stored = cache.get_many("units", [key for key in article_keys if key not in recent]) if cache else {}
    made: dict[str, tuple[int, bytes]] = {}
    built: dict[str, tuple[Corpus, int]] = {}
    new = [number for number in range(len(snapshot.articles))
           if not (cache and (article_keys[number] in recent or _stored_page(stored.get(article_keys[number]))))]
    with _bulk(segment, len(new), BULK_TEXTS // 10):
        cut = dict(zip(new, part_cache.parallel_map(lambda number: _cut_page(snapshot.articles[number], segment),
                                                    new, PARALLEL_PAGES), strict=True))
    terms: dict[str, tuple[list[str], list[str]]] = {}
    for number in range(len(snapshot.articles)):
        key = article_keys[number] if cache else ""
        context = corpus.next_context()
        if key and key in recent:
            previous, previous_context = recent[key]
            blob, count, page_units, text = previous.page(previous_context)
            if blob is not None:
                corpus.add_pickled(blob, count)
            else:
                if page_units and page_units[0].context != context:
                    page_units = tuple(replace(unit, context=context) for unit in page_units)
                corpus.add(page_units, text)
        elif number not in cut:
            count, blob = stored[key]
            corpus.add_pickled(blob, count)
        else:
            count, blob, grams, words = cut[number]
            if cache:
                corpus.add_pickled(blob, count)
            else:  # nothing on disk to open quickly next time: read now, not in the middle of a question
                page_units, text = pickle.loads(blob)
                corpus.add(tuple(replace(unit, context=context) for unit in page_units), text)
            terms[key or f"#{number}"] = (grams, words)
            if key:
                made[key] = (count, blob)
        if key:
            built[key] = (corpus, context)
        keys.extend([key or f"#{number}"] * corpus._spans[context][1])
    if cache:
        cache.put_many("units", made)
        _RECENT = built
        _KEYS = {article: key for article, key in zip(snapshot.articles, article_keys, strict=True)
                 if not article.key}  # hashing an article hashes its whole text
    return corpus, keys, terms


def _stored_page(part: object) -> bool:
    return isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes)


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
    missing = [number for number in range(len(articles))
               if not (cache and isinstance(stored.get(keys[number]), frozenset))]
    # Every page is read for its quotes: in workers when many are new.
    found = dict(zip(missing, part_cache.parallel_map(lambda number: _quoted(articles[number], pattern), missing,
                                                      PARALLEL_PAGES), strict=True))
    for number in range(len(articles)):
        _let_others_run(number)
        part = found.get(number)
        if part is None:
            part = stored[keys[number]]
        elif cache:
            made[keys[number]] = part
        terms.update(part)
    if cache:
        cache.put_many(kind, made)
    return terms


def _quoted(article: Article, pattern: re.Pattern[str]) -> frozenset[str]:
    return frozenset(match.group(1) or match.group(2) for paragraph in article.paragraphs
                     for match in pattern.finditer(paragraph.lower()))  # cleaned: display form


def article_key(article: Article) -> str:
    if article.key:  # the loader's, from the file's path and content
        return article.key
    if (key := _KEYS.get(article)) is None:
        key = _KEYS[article] = part_cache.digest("article", repr(article))  # asked for twice per build
    return key


def index_terms(text: str) -> list[str]:
    """Terms of normalised text: CJK bigrams plus ASCII words and numbers."""
    return cjk_bigrams(text) + _ASCII_TOKEN.findall(text)


class SearchIndex:
    """Immutable once built; a new snapshot gets a new index, swapped in whole.

    `vocabulary` is the words the segmenter was given on top of its dictionary: segmentation is
    cached per page under it. With a part cache (bot.knowledge.cache), the per-page work (units and
    their slots, bigrams, words) is read back when a page is unchanged, and the whole-corpus parts
    (document frequencies, pinyin map, the tantivy index on disk) are adjusted by the pages that
    changed instead of being made again from every page; the statistics are those a fresh build
    makes, and the tantivy index holds the same documents (a changed page's go to the end).
    """

    def __init__(self, snapshot: Snapshot, segment: Callable[[str], list[str]],
                 vocabulary: Iterable[str] | None = None, cache: PartCache | bool | None = True) -> None:
        self.snapshot = snapshot
        self.cache = part_cache.active() if cache is True else (cache or None)
        self.vocabulary_key = part_cache.digest(*sorted(vocabulary)) if vocabulary is not None else None
        if self.vocabulary_key is None:
            self.cache = None  # words cannot be cached without knowing what the segmenter was given
        self.units: Corpus
        self.units, self._keys, made = _units(snapshot, self.cache, segment)
        self.pages_made = len(made)
        self.contexts = self.units.contexts
        self.size = len(self.units)
        self._pages = _pages(self._keys, self.units)
        self._terms: dict[tuple[str, int], list[str]] = {}  # (kind, page number) -> terms, while building
        for number, (_, start, _) in enumerate(self._pages):
            if (page_terms := made.get(self._keys[start])) is not None:
                self._terms[("grams", number)], self._terms[("words", number)] = page_terms
        self.made = ""  # how the tantivy index came about: fresh, opened (as cached) or updated (page-wise)
        self.stats_made = ""  # and the corpus figures: counted, cached or adjusted
        keys = [key for key, _, _ in self._pages]
        # Page-wise updates need every page to have its own content key.
        self._keyed = bool(self.cache) and all(keys) and len(set(keys)) == len(keys)
        self.df: dict[str, int] = {}
        self.chars_by_syllable: dict[str, list[str]] = {}
        self.char_weight: dict[str, int] = {}
        self.corpus_key = part_cache.digest(self.vocabulary_key or "", *self._keys)
        self._segment = segment
        if self.cache and not self.cache.has(f"words-{self.vocabulary_key}"):
            self.cache.forget("words-", prefix=True)  # a new vocabulary: words cut with the old one are dead
        # The new pages' terms are stored and the corpus figures counted in Python while tantivy
        # indexes, which releases the GIL while it works: side by side, a fresh build at 100k passages
        # takes seconds less. Each reads the per-page terms made above and writes only its own fields.
        failed: list[BaseException] = []

        def count() -> None:
            try:
                if self.cache:
                    for kind, place in (("grams", 0), (f"words-{self.vocabulary_key}", 1)):
                        self.cache.put_many(kind, {key: terms[place] for key, terms in made.items()
                                                   if not key.startswith("#")})
                self._statistics()
            except BaseException as error:  # re-raised in the building thread below
                failed.append(error)

        counting = threading.Thread(target=count, name="index-statistics")
        counting.start()
        try:
            self._build(segment)
        finally:
            counting.join()
        if failed:
            raise failed[0]
        # Nothing is kept that points back at the engine (its segmenter): an index let go of is
        # freed at once, without waiting for a full garbage collection.
        self._terms, self._segment = {}, None

    # --- statistics -----------------------------------------------------------------------------
    def _statistics(self) -> None:
        """Document frequencies and the pinyin map: the last build's, adjusted by the pages that
        changed since, or counted from every page."""
        global _LAST_STATS
        keys = tuple(key for key, _, _ in self._pages)
        last = _LAST_STATS if self._keyed else None
        if self._keyed and (last is None or last[0] is not self.cache):
            stored = self.cache.get("stats", "current")
            last = (self.cache, *stored) if isinstance(stored, tuple) and len(stored) == 3 else None
            fresh_copy = True
        else:
            fresh_copy = False
        if last is not None and last[1] == keys:
            self.df, self.char_weight = last[2], last[3]
            self.stats_made = "cached"
        else:
            self.stats_made = "adjusted"
            if last is None or not self._adjusted(last, keys, copy=not fresh_copy):
                self.stats_made = "counted"
                df: Counter[str] = Counter()
                for number, terms in enumerate(self._page_terms("grams", range(len(self._pages)))):
                    df.update(set(terms.split()))
                    _let_others_run(number)
                self.df = dict(df)
                self.char_weight = _char_weight(self.df)
            if self._keyed:
                self.cache.replace_only("stats", "current", (keys, self.df, self.char_weight))
        self.chars_by_syllable = _syllables(self.char_weight)
        if self._keyed:
            _LAST_STATS = (self.cache, keys, self.df, self.char_weight)

    def _adjusted(self, last: tuple, keys: tuple[str, ...], copy: bool) -> bool:
        """Takes the last figures and moves them by the pages gone and the pages new; False when so
        much changed that counting everything is as quick."""
        old_keys: tuple[str, ...] = last[1]
        old, new = set(old_keys), set(keys)
        gone, added = old - new, [number for number, key in enumerate(keys) if key not in old]
        if len(gone) + len(added) > max(INCREMENTAL_PAGES, INCREMENTAL_SHARE * len(keys)):
            return False
        gone_terms = self.cache.get_many("grams", gone) if gone else {}
        if any(not isinstance(gone_terms.get(key), list) for key in gone):
            return False  # a page's terms are no longer cached: its share cannot be taken off
        change: Counter[str] = Counter()
        for terms in self._page_terms("grams", added):
            change.update(set(terms.split()))
        for key in gone:
            for terms in gone_terms[key]:
                change.subtract(set(terms.split()))
        df = dict(last[2]) if copy else last[2]
        weight = dict(last[3]) if copy else last[3]
        for term, moved in change.items():
            if not moved:
                continue
            count = df.get(term, 0) + moved
            if count > 0:
                df[term] = count
            else:
                df.pop(term, None)
            for char in term:
                if _CJK_CHAR.match(char):
                    weight[char] = weight.get(char, 0) + moved
        for char in [char for char, count in weight.items() if count <= 0 and char not in QUESTION_CHARS]:
            del weight[char]
        self.df, self.char_weight = df, weight
        return True

    # --- per-page terms ---------------------------------------------------------------------------
    def _page_terms(self, kind: str, numbers: Iterable[int]) -> list[str]:
        """The terms of the given pages' units, in order: remembered from this build, read from the
        cache, or made (and cached)."""
        numbers = list(numbers)
        cache_kind = "grams" if kind == "grams" else f"words-{self.vocabulary_key}"
        wanted = [n for n in numbers if (kind, n) not in self._terms]
        keyed = {self._pages[n][0]: n for n in wanted if self._pages[n][0]}
        stored = self.cache.get_many(cache_kind, keyed) if self.cache and keyed else {}
        missing: list[int] = []
        for number in wanted:
            key, start, stop = self._pages[number]
            part = stored.get(key) if key else None
            if isinstance(part, list) and len(part) == stop - start:
                self._terms[(kind, number)] = part
            else:
                missing.append(number)
        if missing:
            texts = [unit.indexed_text for n in missing for unit in self.units[self._pages[n][1]:self._pages[n][2]]]
            made = [" ".join(index_terms(text)) for text in texts] if kind == "grams" else self._cut(texts)
            made_parts: dict[str, list[str]] = {}
            at = 0
            for number in missing:
                key, start, stop = self._pages[number]
                part = made[at : at + stop - start]
                at += stop - start
                self._terms[(kind, number)] = part
                if key:
                    made_parts[key] = part
            if self.cache:
                self.cache.put_many(cache_kind, made_parts)
        return [terms for number in numbers for terms in self._terms[(kind, number)]]

    def _cut(self, texts: list[str]) -> list[str]:
        """Each text's indexed words, space-joined; many texts are cut in worker processes."""
        return segment_all(self._segment, texts)

    # --- the tantivy index ------------------------------------------------------------------------
    def _schema(self) -> tantivy.Schema:
        builder = tantivy.SchemaBuilder()
        # Already normalised and segmented. Only term queries are run, and BM25 needs term frequencies,
        # not positions: without them indexing 100k passages is about a fifth quicker, same scores.
        builder.add_text_field("words", tokenizer_name="whitespace", index_option="freq")
        builder.add_text_field("grams", tokenizer_name="whitespace", index_option="freq")
        builder.add_unsigned_field("page", indexed=True)  # a changed page's documents are deleted by it
        # Page id and place on the page, read from a column for every hit instead of from the
        # compressed document store.
        builder.add_unsigned_field("doc", fast=True)
        return builder.build()

    def _build(self, segment: Callable[[str], list[str]]) -> None:
        self.schema = self._schema()
        folder = self.cache.index_folder() if self._keyed else None
        if folder is None:
            self._fresh(None)
            return
        with _INDEX_LOCK:
            state = _read_state(folder)
            if state is not None and state.get("vocabulary") == self.vocabulary_key:
                try:
                    if self._update(folder, state):
                        return
                except (OSError, ValueError) as error:
                    log.warning("cached index unusable, rebuilding: %s", error)
                    _OPEN.pop(str(folder), None)
            self._fresh(folder)

    def _open(self, folder: Path) -> tantivy.Index:
        index = _OPEN.get(str(folder))
        if index is None:
            index = tantivy.Index(self.schema, path=str(folder), reuse=True)
            _OPEN.clear()
            _OPEN[str(folder)] = index
        return index

    def _update(self, folder: Path, state: dict) -> bool:
        """Opens the index on disk and, when it was made for other pages, deletes the pages gone and
        adds the new ones. False when too much changed (a fresh build is then as quick)."""
        ids: dict[str, int] = state["pages"]
        keys = [key for key, _, _ in self._pages]
        gone = [key for key in ids.keys() - set(keys)]
        added = [number for number, key in enumerate(keys) if key not in ids]
        if state.get("corpus") != self.corpus_key and (
                len(gone) + len(added) > max(INCREMENTAL_PAGES, INCREMENTAL_SHARE * len(keys))):
            return False
        index = self._open(folder)
        if state.get("corpus") != self.corpus_key:
            (folder / DONE).unlink()  # half-updated until the new state is written
            ids = dict(ids)
            next_id = int(state["next"])
            writer = index.writer(num_threads=1)
            for key in gone:
                # By query: this binding's delete-by-term reads a Python int as i64 and matches nothing.
                writer.delete_documents_by_query(tantivy.Query.term_query(self.schema, "page", ids.pop(key)))
            for number in added:
                ids[keys[number]] = next_id
                next_id += 1
            self._add(writer, added, ids)
            writer.commit()
            writer.wait_merging_threads()
            _write_state(folder, {"corpus": self.corpus_key, "vocabulary": self.vocabulary_key,
                                  "next": next_id, "pages": ids})
        index.reload()
        searcher = index.searcher()
        if searcher.num_docs != self.size:
            raise ValueError(f"index holds {searcher.num_docs} documents, the pages {self.size}")
        self.tantivy, self.searcher = index, searcher
        self.made = "updated" if state.get("corpus") != self.corpus_key else "opened"
        self._locate(ids)
        return True

    def _fresh(self, folder: Path | None) -> None:
        """Indexes every page anew: in memory, or into a new folder that replaces the old one."""
        ids = {key or f"#{number}": number for number, (key, _, _) in enumerate(self._pages)}
        building = folder.with_name(folder.name + f".{os.getpid()}.{threading.get_ident()}.tmp") if folder else None
        if building is not None:
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
        index = tantivy.Index(self.schema, path=str(building) if building else None)
        writer = index.writer(num_threads=1)
        self._add(writer, range(len(self._pages)), ids)
        writer.commit()
        writer.wait_merging_threads()
        if building is not None and folder is not None:
            del writer
            _write_state(building, {"corpus": self.corpus_key, "vocabulary": self.vocabulary_key,
                                    "next": len(self._pages), "pages": ids})
            try:
                _OPEN.pop(str(folder), None)
                if folder.exists():
                    shutil.rmtree(folder, ignore_errors=True)
                building.rename(folder)
                index = self._open(folder)
                if self.cache:
                    self.cache.drop_index_folders(keep=folder)
            except OSError as error:  # another build of the same corpus won the race: use ours
                log.info("index folder taken: %s", error)
        index.reload()
        self.tantivy, self.searcher = index, index.searcher()
        self.made = "fresh"
        self._locate(ids)

    def _add(self, writer: tantivy.IndexWriter, numbers: Iterable[int], ids: dict[str, int]) -> None:
        numbers = list(numbers)
        grams = self._page_terms("grams", numbers)
        words = self._page_terms("words", numbers)
        at = 0
        for number in numbers:
            key, start, stop = self._pages[number]
            page = ids[key or f"#{number}"]
            for offset in range(stop - start):
                document = tantivy.Document(words=words[at], grams=grams[at])
                document.add_unsigned("page", page)
                document.add_unsigned("doc", (page << PAGE_SHIFT) | offset)
                writer.add_document(document)
                _let_others_run(at)
                at += 1

    def _locate(self, ids: dict[str, int]) -> None:
        """Where each page id's units start in this build's unit list."""
        starts = [-1] * (max(ids.values(), default=-1) + 1)
        for number, (key, start, _) in enumerate(self._pages):
            starts[ids[key or f"#{number}"]] = start
        self._starts = starts

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
        if not hits:
            return []
        codes = self.searcher.fast_field_values("doc", [address for _, address in hits])
        starts = self._starts
        return [(starts[code >> PAGE_SHIFT] + (code & OFFSET_MASK), score)
                for (score, _), code in zip(hits, codes, strict=True)]

    def idf(self, df: int) -> float:
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def word_df(self, word: str) -> int:
        """In how many units a whole word is indexed."""
        return self.searcher.doc_freq("words", word)

    def term_df(self, term: str) -> int:
        return self.df.get(term, 0)

    def phrase_df(self, phrase: str) -> int:
        """Upper bound of the units that contain `phrase`: the rarest of its terms. A lone
        character is not indexed on its own; it counts as present when any bigram holds it."""
        terms = [term for term in index_terms(phrase) if len(term) > 1 or not _CJK_CHAR.match(term)]
        if not terms:
            return min((self.char_weight.get(char, 0) for char in phrase), default=0)
        return min(self.df.get(term, 0) for term in terms)
