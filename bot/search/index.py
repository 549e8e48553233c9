"""An inverted index over character bigrams with BM25 weights, and the corpus statistics the query
analysis needs (document frequencies, which characters each pinyin syllable stands for).

Bigrams rather than words are indexed: they need no segmentation (fast to build at 100k passages)
and are robust to the segmenter splitting a query differently from a page. Words come in at query
time, where jieba runs on a few characters only.
"""

from __future__ import annotations

import heapq
import math
import re
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass

from pypinyin import lazy_pinyin

from bot.knowledge.model import Snapshot
from bot.search.units import Unit, build_units
from bot.text import cjk_bigrams

BM25_K1 = 1.2
BM25_B = 0.75
_ASCII_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
QUESTION_CHARS = "谁哪什么几吗呢多少时候里儿怎样是的了有在年月日"
SPOKEN_READINGS = {"shei": "谁", "sha": "啥", "zha": "咋", "nei": "哪"}  # readings pypinyin does not give first


def index_terms(text: str) -> list[str]:
    """Terms of normalised text: CJK bigrams plus ASCII words and numbers."""
    return cjk_bigrams(text) + _ASCII_TOKEN.findall(text)


@dataclass
class Postings:
    units: array  # unit numbers, ascending
    weights: array  # BM25 weight of the term in each unit


class SearchIndex:
    """Immutable once built; a new snapshot gets a new index, swapped in whole."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.units: list[Unit]
        self.contexts: list[str]
        self.units, self.contexts = build_units(snapshot)
        self.size = len(self.units)
        self.df: dict[str, int] = {}
        self.postings: dict[str, Postings] = {}
        self.impact: dict[str, Postings] = {}  # truncated postings of very common terms, made on first use
        self._build_postings()
        self.chars_by_syllable: dict[str, list[str]] = {}
        self.char_weight: dict[str, int] = {}
        self._build_pinyin_map()

    def _build_postings(self) -> None:
        lengths: list[int] = []
        unit_lists: dict[str, array] = defaultdict(lambda: array("i"))
        tf_lists: dict[str, array] = defaultdict(lambda: array("H"))
        for number, unit in enumerate(self.units):
            terms = index_terms(unit.text)
            lengths.append(len(terms))
            for term, count in Counter(terms).items():
                unit_lists[term].append(number)
                tf_lists[term].append(min(count, 65535))
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        norms = [BM25_K1 * (1 - BM25_B + BM25_B * length / average) for length in lengths]
        for term, units in unit_lists.items():
            df = len(units)
            self.df[term] = df
            idf = self.idf(df)
            tfs = tf_lists[term]
            weights = array("f", (idf * tf * (BM25_K1 + 1) / (tf + norms[u]) for u, tf in zip(units, tfs, strict=True)))
            self.postings[term] = Postings(units, weights)

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

    def score(self, terms: dict[str, float], limit: int, impact_limit: int) -> list[tuple[int, float]]:
        """Top units by summed BM25 over weighted query terms. A term in more than `impact_limit`
        units contributes only its `impact_limit` highest-weighted postings (impact ordering), so a
        query costs the same at 100k passages as at 10k, and a question made only of common words
        (质量月) still finds candidates."""
        totals: dict[int, float] = defaultdict(float)
        for term, query_weight in terms.items():
            postings = self.postings.get(term)
            if postings is None:
                continue
            if len(postings.units) > impact_limit:
                postings = self._top_impact(term, postings, impact_limit)
            for unit, weight in zip(postings.units, postings.weights, strict=True):
                totals[unit] += weight * query_weight
        best = heapq.nlargest(limit, totals, key=totals.__getitem__)
        return [(unit, totals[unit]) for unit in best]

    def _top_impact(self, term: str, postings: Postings, size: int) -> Postings:
        cached = self.impact.get(term)
        if cached is None or len(cached.units) != size:
            best = heapq.nlargest(size, zip(postings.weights, postings.units, strict=True))
            cached = Postings(array("i", (unit for _, unit in best)), array("f", (weight for weight, _ in best)))
            self.impact[term] = cached
        return cached
