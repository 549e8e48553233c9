"""Query analysis: from what a citizen typed to weighted content words, cues and constraints.

Steps: normalise (width, script, case) -> turn pinyin typed in Latin letters into characters ->
segment with jieba (domain words added) -> drop function words and question frames -> fix homophone
typos (the commonest kind with a pinyin input method) -> weight words by rarity in the corpus.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jieba

from bot.search.index import SearchIndex, index_terms
from bot.search.lexicon import CHINESE_DIGITS, CUE_PATTERNS, FRAME_WORDS, STOPWORDS
from bot.text import MAX_QUERY_CHARS, normalise, pinyin_initials

_LATIN_RUN = re.compile(r"[a-z]{2,}")
_CJK_WORD = re.compile(r"^[\u3400-\u9fff]+$")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_CONTENT = re.compile(r"[\w\u3400-\u9fff]")
NATIONAL = frozenset({"中国", "全国", "我国", "国家", "中华", "中华人民共和国"})
SINGLE_CHAR_WEIGHT = 0.6
MAX_SYLLABLE = 6


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Place names from jieba's own dictionary (words tagged 'ns'), read once when first needed."""
    path = Path(jieba.__file__).with_name("dict.txt")
    places: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "ns" and 2 <= len(parts[0]) <= 6:
                places.add(parts[0])
    return frozenset(places - NATIONAL)


@dataclass
class Query:
    text: str  # normalised, corrected question
    words: dict[str, float]  # content word -> weight
    bm25_terms: dict[str, float]
    cues: set[str] = field(default_factory=set)
    years: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    corrections: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total_weight(self) -> float:
        return sum(self.words.values())


class QueryAnalyzer:
    def __init__(self, index: SearchIndex, domain_words: Iterable[str]) -> None:
        self.index = index
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        self.domain_words = {word for word in domain_words if 2 <= len(word) <= 12}
        for word in self.domain_words:
            self.tokenizer.add_word(word, freq=20000)
        self.by_initials: dict[str, str] = {}
        for word in sorted(self.domain_words, key=lambda w: -index.phrase_df(w)):
            if _CJK_WORD.match(word) and len(word) >= 2:
                self.by_initials.setdefault(pinyin_initials(word), word)
        self.places = place_names()

    # --- Latin pinyin -------------------------------------------------------------------------
    def _syllables(self, run: str) -> list[str] | None:
        """Splits a Latin run into known syllables, preferring fewer, longer ones."""
        known = self.index.chars_by_syllable
        best: list[list[str] | None] = [None] * (len(run) + 1)
        best[0] = []
        for end in range(1, len(run) + 1):
            for start in range(max(0, end - MAX_SYLLABLE), end):
                head = best[start]
                if head is not None and run[start:end] in known:
                    candidate = [*head, run[start:end]]
                    if best[end] is None or len(candidate) < len(best[end] or []):
                        best[end] = candidate
        return best[len(run)]

    def _from_pinyin(self, run: str) -> str | None:
        """The most likely characters for full pinyin, by bigram frequency in the corpus (Viterbi)."""
        syllables = self._syllables(run)
        if not syllables or len(syllables) < 2:
            return None
        columns = [self.index.chars_by_syllable[s][:40] for s in syllables]
        paths = {char: (0.0, char) for char in columns[0]}
        for column in columns[1:]:
            step: dict[str, tuple[float, str]] = {}
            for char in column:
                scored = [
                    (score + math.log1p(self.index.term_df(text[-1] + char)), text + char)
                    for score, text in paths.values()
                    if self.index.term_df(text[-1] + char) > 0
                ]
                if scored:
                    step[char] = max(scored)
            if not step:
                return None
            paths = step
        return max(paths.values())[1]

    def _convert_latin(self, text: str, corrections: list[tuple[str, str]]) -> str:
        def replace(match: re.Match[str]) -> str:
            run = match.group(0)
            if self.index.term_df(run) > 0:
                return run  # a Latin word the knowledge itself uses
            chinese = self._from_pinyin(run) or self.by_initials.get(run)
            if chinese:
                corrections.append((run, chinese))
                return chinese
            return run

        return _LATIN_RUN.sub(replace, text)

    # --- Homophone typos ----------------------------------------------------------------------
    def _known_word(self, word: str) -> bool:
        return word in self.domain_words or self.tokenizer.FREQ.get(word, 0) > 0

    def _fix_homophone(self, word: str) -> str | None:
        """One character swapped for a same-sounding one that makes a word the corpus contains."""
        from pypinyin import lazy_pinyin

        best: tuple[int, str] | None = None
        for position, char in enumerate(word):
            syllable = lazy_pinyin(char)[0]
            for other in self.index.chars_by_syllable.get(syllable, [])[:60]:
                if other == char:
                    continue
                candidate = word[:position] + other + word[position + 1 :]
                df = self.index.phrase_df(candidate)
                if df > 0 and self._known_word(candidate) and (best is None or df > best[0]):
                    best = (df, candidate)
        return best[1] if best else None

    def _digit_variant(self, word: str) -> str | None:
        """六大 -> 6大: pages write small numbers either way."""
        variant = "".join(CHINESE_DIGITS.get(char, char) for char in word)
        return variant if variant != word and self.index.phrase_df(variant) > 0 else None

    def _split_unknown(self, word: str) -> list[str] | None:
        """A word the segmenter guessed (not in its dictionary, not in the corpus), split into
        known parts: "软件谷要" segmented as 软件/谷要 becomes 谷 + 要."""
        if self.tokenizer.FREQ.get(word, 0) > 0 or word in self.domain_words:
            return None
        for cut in range(1, len(word)):
            left, right = word[:cut], word[cut:]
            if all(part in STOPWORDS or self.index.phrase_df(part) > 0 for part in (left, right)):
                return [part for part in (left, right) if part not in STOPWORDS]
        return None

    def _resolve(self, token: str, corrections: list[tuple[str, str]]) -> list[str]:
        """The content words a token stands for, after digit, typo and split repairs."""
        if not (_CJK_WORD.match(token) or token[0].isdigit()) or self.index.phrase_df(token) > 0:
            return [token]
        for repair in (self._digit_variant, self._fix_homophone):
            fixed = repair(token)
            if fixed:
                corrections.append((token, fixed))
                return [fixed]
        return self._split_unknown(token) or [token]

    # --- Weights ------------------------------------------------------------------------------
    def weight(self, word: str) -> float:
        if len(word) == 1 and not word.isdigit():
            return SINGLE_CHAR_WEIGHT
        df = self.index.phrase_df(word)
        return self.index.idf(df)

    def analyse(self, question: str) -> Query:
        text = normalise(question)[:MAX_QUERY_CHARS]
        corrections: list[tuple[str, str]] = []
        text = self._convert_latin(text, corrections)
        cues = {name for name, pattern in CUE_PATTERNS.items() if pattern.search(text)}
        words: dict[str, float] = {}
        for token in self.tokenizer.lcut(text):
            token = token.strip()
            if not token or not _CONTENT.search(token) or token in STOPWORDS or token in FRAME_WORDS:
                continue
            if len(token) < 2:
                words[token] = self.weight(token)
                continue
            for word in self._resolve(token, corrections):
                words[word] = self.weight(word)
        for wrong, right in corrections:
            text = text.replace(wrong, right)
        bm25_terms: dict[str, float] = {}
        for word in words:
            for term in index_terms(word):
                bm25_terms[term] = bm25_terms.get(term, 0.0) + 1.0
        years = _YEAR.findall(text)
        places = [word for word in words if word in self.places]
        return Query(text, words, bm25_terms, cues, years, places, corrections)
