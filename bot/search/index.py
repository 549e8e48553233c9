"""Retrieval and corpus statistics.

Candidates come from a tantivy (compiled BM25) index holding two views of every unit: its words as
the segmenter cuts them, and its character bigrams, which need no segmentation and so survive a
question cut differently from a page. The Python side keeps only what the question analysis needs:
document frequencies of bigrams and which characters each pinyin syllable stands for.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable

import tantivy
from pypinyin import lazy_pinyin

from bot.knowledge.model import Snapshot
from bot.search.units import Unit, build_units
from bot.text import cjk_bigrams

_INDEXED_WORD = re.compile(r"[0-9a-z\u3400-\u9fff]")
_ASCII_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
QUESTION_CHARS = "谁哪什么几吗呢多少时候里儿怎样是的了有在年月日"
SPOKEN_READINGS = {"shei": "谁", "sha": "啥", "zha": "咋", "nei": "哪"}  # readings pypinyin does not give first


def index_terms(text: str) -> list[str]:
    """Terms of normalised text: CJK bigrams plus ASCII words and numbers."""
    return cjk_bigrams(text) + _ASCII_TOKEN.findall(text)


class SearchIndex:
    """Immutable once built; a new snapshot gets a new index, swapped in whole."""

    def __init__(self, snapshot: Snapshot, segment: Callable[[str], list[str]]) -> None:
        self.snapshot = snapshot
        self.units: list[Unit]
        self.contexts: list[str]
        self.units, self.contexts = build_units(snapshot)
        self.size = len(self.units)
        self.df: dict[str, int] = {}
        self.chars_by_syllable: dict[str, list[str]] = {}
        self.char_weight: dict[str, int] = {}
        self._build(segment)
        self._build_pinyin_map()

    def _build(self, segment: Callable[[str], list[str]]) -> None:
        df: Counter[str] = Counter()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("words", tokenizer_name="whitespace")  # already normalised and segmented
        builder.add_text_field("grams", tokenizer_name="whitespace")
        builder.add_unsigned_field("unit", stored=True)
        self.schema = builder.build()
        self.tantivy = tantivy.Index(self.schema)  # in memory
        writer = self.tantivy.writer(num_threads=1)
        for number, unit in enumerate(self.units):
            grams = index_terms(unit.text)
            df.update(set(grams))
            words = [word for word in segment(unit.text) if _INDEXED_WORD.search(word)]
            writer.add_document(tantivy.Document(words=" ".join(words), grams=" ".join(grams), unit=number))
        writer.commit()
        writer.wait_merging_threads()
        self.tantivy.reload()
        self.searcher = self.tantivy.searcher()
        self.df = dict(df)

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
            syllable = lazy_pinyin(char)[0]
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
