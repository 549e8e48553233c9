"""Query analysis: from what a citizen typed to weighted content words, cues and constraints.

Steps: normalise (width, script, case) -> turn pinyin typed in Latin letters into characters ->
segment with jieba (domain words added) -> drop function words and question frames -> fix homophone
typos (the commonest kind with a pinyin input method) -> weight words by rarity in the corpus.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import cn2an
import jieba
from pypinyin import lazy_pinyin

from bot.answers.index import QUESTION_CHARS, SearchIndex, index_terms
from bot.answers.segment import load_dictionary
from bot.answers.slots import (
    Gazetteer,
    Place,
    dictionary_tags,
    expand_short_years,
    has_relative_year,
    is_national,
    ordinals,
    relative_years,
    written_years,
)
from bot.knowledge.model import Lexicon
from bot.text import MAX_QUERY_CHARS, normalise, pinyin_initials

_LATIN_RUN = re.compile(r"[a-z]+(?:[ '][a-z]+)*")
_CJK_WORD = re.compile(r"^[\u3400-\u9fff]+$")
_ASKING = re.compile("[几哪谁啥咋]")  # characters that only ever ask
_ASKING_WORD = re.compile("[几哪谁啥咋何]|多少|什么")
_NAME_ENDINGS = frozenset("日节周")  # 世界质量日, 读书节, 质量周: the end of a named day or week
_OWN_LEVEL = ("人民政府", "政府", "级", "长")  # after a place's full name: 浙江省政府, 湖南省长, 省级
_CONTENT = re.compile(r"[\w\u3400-\u9fff]")
_SMALL_NUMBER = re.compile("[一二两三四五六七八九十]+")
# "哪六大…", "哪三个…": asking for a list of a stated size, whatever the numeral.
_COUNTED_LIST = re.compile(r"哪[一二两三四五六七八九十\d]+[个项大条种类]")
SINGLE_CHAR_WEIGHT = 0.6
SOFT_TAGS = frozenset("vamqli")  # verbs, adjectives, numerals, measure words, idioms (jieba's tags)
# Parts of speech (jieba's tags) that never name a topic: adverbs, pronouns, conjunctions,
# prepositions, particles, modal and locative words, numeral-measure pairs (这场, 那次).
FUNCTION_TAGS = frozenset({"d", "r", "c", "p", "u", "uj", "ul", "uz", "uv", "ud", "ug", "y", "e", "o", "f", "mq"})
MAX_SYLLABLE = 6


@lru_cache(maxsize=1)
def base_tokenizer() -> jieba.Tokenizer:
    """jieba's dictionary, loaded once per process; each engine gets a copy with its own words."""
    return load_dictionary()


def make_tokenizer(words: Iterable[str]) -> jieba.Tokenizer:
    """A segmenter that keeps the knowledge's own terms whole. Segmenting only reads it, so engines
    with the same words share one (a reload rarely changes them; copying the dictionary takes long)."""
    return _tokenizer_for(frozenset(words))


@lru_cache(maxsize=1)
def _tokenizer_for(words: frozenset[str]) -> jieba.Tokenizer:
    base = base_tokenizer()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for word in words:
        tokenizer.add_word(word, freq=20000)
    return tokenizer


_TONE_MARKS = re.compile("[\u0300-\u036f]")


def fold_tones(text: str) -> str:
    """Pinyin typed with tone marks read as plain letters: shǒujiè -> shoujie, lǜ -> lv."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text).replace("u\u0308", "v")
    return unicodedata.normalize("NFC", _TONE_MARKS.sub("", decomposed))


def question_frames(lexicon: Lexicon) -> frozenset[str]:
    """The lexicon's ways of asking for a kind of fact that hold a question word (哪个市, 几月, 多少):
    they are segmented whole and carry no topic, so 在哪个市办的 is 哪个市 + 办, not 哪个 + 市办."""
    return frozenset(word for _, words in lexicon.asked for word in words
                     if len(word) >= 2 and _ASKING_WORD.search(word))


def cue_patterns(lexicon: Lexicon) -> dict[str, re.Pattern[str]]:
    """One matcher per kind of fact asked for, from the lexicon's word lists (literal words only, so
    matching stays linear whatever an admin writes)."""
    patterns = {
        kind: re.compile("|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)))
        for kind, words in lexicon.asked if words
    }
    if "list" in patterns:
        patterns["list"] = re.compile(f"{patterns['list'].pattern}|{_COUNTED_LIST.pattern}")
    return patterns


PARTS_WINDOW = 6  # characters that may stand between two parts of a long word (quotes, 的)


# What may stand between two parts of a long word: punctuation and quotes, 的, or an aside in
# brackets (中国质量(杭州)大会) — not other words (中国质量奖颁奖大会 is not 中国质量大会).
_PART_GAP = re.compile(r"(?:[^\w]|_|的|\([^()]{1,6}\))*")


def _in_order(parts: list[str], text: str, window: int) -> bool:
    """The parts of a long word written in order, each close after the one before: 质量月活动 in
    “质量月”活动, but not 质量发展纲要 in a text that names 质量, 发展 and a 纲要 far apart."""
    start = text.find(parts[0])
    while start >= 0:
        end = start + len(parts[0])
        for part in parts[1:]:
            at = text.find(part, end, end + window + len(part))
            if at < 0 or not _PART_GAP.fullmatch(text, end, at):
                break
            end = at + len(part)
        else:
            return True
        start = text.find(parts[0], start + 1)
    return False


@dataclass
class Query:
    text: str  # normalised, corrected question
    words: dict[str, float]  # content word -> weight
    bm25_terms: dict[str, float]
    cues: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)  # asked years, relative ones resolved
    places: list[tuple[Place, ...]] = field(default_factory=list)  # each name read as any of its places
    corrections: list[tuple[str, str]] = field(default_factory=list)
    patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)
    # Names of things (places, years, numbers, names the segmenter did not know, domain terms): the
    # words a page states once and then means throughout, so they count anywhere on the page.
    anchors: set[str] = field(default_factory=set)
    parts: dict[str, list[str]] = field(default_factory=dict)  # sub-words of long words
    known_parts: dict[str, list[str]] = field(default_factory=dict)  # the same, for dictionary and domain words
    national: bool = False  # asks about the whole country (全国, 国家 …) and names no place
    relative: bool = False  # said 今年/去年/本届 …
    slot_words: set[str] = field(default_factory=set)  # the words that state a year or a place
    rounds: frozenset[tuple[int, str]] = frozenset()  # 第三届 … asked about
    soft: frozenset[str] = frozenset()  # verbs, adjectives, quantities: how it is asked, not what about
    # Asks about a place's own government or level (浙江省政府质量奖, 省级, 省长): what a place inside it
    # does (a city's award) is not the answer, even when its page names the province.
    own_level: bool = False
    # Asks which members of a list (浙江是哪几个城市, 安徽哪两家): a national list naming the place's
    # members answers for that place.
    members: bool = False
    _pieces: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    context_hits: dict[tuple[str, int], bool] = field(default_factory=dict, repr=False, compare=False)
    title_hits: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False, compare=False)
    sentence_scores: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def found(self, word: str, text: str) -> bool:
        """Whether a content word, or a word meaning the same, occurs in normalised text. A long
        word also counts when all its parts do: 质量月活动 in “质量月”活动."""
        pattern = self.patterns.get(word)
        if pattern.search(text) if pattern else word in text:
            return True
        parts = self.parts.get(word)
        return bool(parts) and _in_order(parts, text, PARTS_WINDOW)

    def pieces(self, word: str) -> list[str]:
        """A word's characters (two-character words) or bigrams, worked out once per question."""
        cut = self._pieces.get(word)
        if cut is None:
            # A long dictionary word made of shorter ones is judged by those (启动仪式: 启动, 仪式); a
            # name nobody wrote before (世界质量日) by its bigrams.
            cut = (list(word) if len(word) == 2 else self.known_parts.get(word)
                   or [word[i : i + 2] for i in range(len(word) - 1)])
            # A piece another of the question's words holds says nothing of this one: 奖 found on a
            # page about a 质量奖 is no sign of 奖金. It stays in the count, but can never be found.
            cut = self._pieces[word] = [piece if not any(piece in other for other in self.words if other != word)
                                        else "\0" for piece in cut]
        return cut

    @cached_property
    def total_weight(self) -> float:
        return sum(self.words.values())

    @cached_property
    def topic_weight(self) -> float:
        """Weight of what is asked about, leaving out the words that only state a year or place."""
        return sum(weight for word, weight in self.words.items() if word not in self.slot_words)


def _names_no_scope(place: Place, text: str) -> bool:
    """A place the question names only as where a national event was held (首届中国质量奖在北京颁发)
    does not narrow what is asked to that place: the word is still looked for, as any other."""
    if not is_national(text):
        return False
    short = place.short
    at = text.find(short)
    if at < 0:
        return False
    while at >= 0:
        if text[at - 1 : at] not in ("在", "于"):
            return False
        at = text.find(short, at + 1)
    return True


# Asks which province: the answer is a province's fact, whatever national words the question uses
# (哪个省是首个经国家批准…).
_ASKS_PROVINCE = re.compile(r"哪(?:个|些|几个|一个)?省")
@lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    """A character's pinyin, looked up once: homophone repair asks for the same few characters
    question after question."""
    return lazy_pinyin(char)[0]


@lru_cache(maxsize=16384)
def _dictionary_parts(word: str) -> tuple[str, ...]:
    return tuple(part for part in base_tokenizer().lcut(word, HMM=False) if part != word)


_MEMBERS = re.compile(r"哪(?:几|些|两|一些|\d)")


class QueryAnalyzer:
    def __init__(self, index: SearchIndex, tokenizer: jieba.Tokenizer, domain_words: set[str],
                 lexicon: Lexicon) -> None:
        self.index = index
        self.tokenizer = tokenizer
        self.domain_words = domain_words
        self.lexicon = lexicon
        self.cues = cue_patterns(lexicon)
        self.frames = question_frames(lexicon)
        self.synonyms: dict[str, set[str]] = {}
        for group in lexicon.synonyms:
            for word in group:
                self.synonyms.setdefault(word, set()).update(group)
        self.by_initials: dict[str, str] = {}
        for word in sorted(self.domain_words, key=lambda w: -index.phrase_df(w)):
            if _CJK_WORD.match(word) and len(word) >= 2:
                self.by_initials.setdefault(pinyin_initials(word), word)
        self.gazetteer = Gazetteer.shared()
        self.tags = dictionary_tags()
        # The most common function character for each syllable (shi -> 是, ji -> 几, de -> 的); in a
        # question a question word comes first (ji is 几 before it is 及).
        # A way of asking typed in pinyin (jijia, jinian, duoshao) is that way of asking, not the
        # corpus words it could also spell (济加, 纪念).
        self.frame_readings: dict[str, str] = {}
        for frame in sorted(self.frames):
            self.frame_readings.setdefault("".join(lazy_pinyin(frame)), frame)
        self._last_cut: tuple[str, tuple[str, ...]] = ("", ())
        self.function_readings: dict[str, str] = {}
        for words in (QUESTION_CHARS, lexicon.question_words, lexicon.stopwords):
            for char in sorted((w for w in words if len(w) == 1), key=lambda c: (-tokenizer.FREQ.get(c, 0), c)):
                self.function_readings.setdefault(lazy_pinyin(char)[0], char)

    def _cut(self, text: str) -> tuple[str, ...]:
        """jieba's words of a text; a question is cut three times over while it is read (typos,
        content words, named days), mostly unchanged in between."""
        last = self._last_cut  # read once: another thread may be reading another question
        if last[0] == text:
            return last[1]
        tokens = tuple(self.tokenizer.lcut(text))
        self._last_cut = (text, tokens)
        return tokens

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
        """The most likely characters for full pinyin: Viterbi over corpus bigram frequencies, with
        a character's own frequency breaking ties where no bigram is known."""
        syllables = self._syllables(run)
        if not syllables or (len(syllables) < 2 and len(run) < 4):
            return None
        weight = self.index.char_weight
        columns = [self.index.chars_by_syllable[s][:40] for s in syllables]
        paths = {char: (0.1 * math.log1p(weight.get(char, 0)), char) for char in columns[0]}
        for column in columns[1:]:
            step: dict[str, tuple[float, str]] = {}
            for char in column:
                own = 0.1 * math.log1p(weight.get(char, 0))
                step[char] = max(
                    (score + math.log1p(self.index.term_df(text[-1] + char)) + own, text + char)
                    for score, text in paths.values()
                )
            paths = step
        return max(paths.values())[1]

    def _convert_latin(self, text: str, corrections: list[tuple[str, str]]) -> str:
        def convert(typed: str) -> str | None:
            run = re.sub(r"[ ']", "", typed)
            if len(run) < 2 or self.index.term_df(run) > 0:
                return None  # a Latin word the knowledge itself uses
            return (self.gazetteer.by_pinyin(run) or self.frame_readings.get(run) or self._from_pinyin(run)
                    or self.by_initials.get(run))

        def convert_word(word: str) -> str | None:
            # A lone syllable typed between spaces is most often a function word (shi ji -> 是几),
            # else one character: never a two-syllable name it could also spell (jian is not ji'an).
            if word in self.index.chars_by_syllable:
                return self.function_readings.get(word) or self.index.chars_by_syllable[word][0]
            return convert(word)

        def replace(match: re.Match[str]) -> str:
            typed = match.group(0)
            chinese = None
            if " " in typed:
                # Spaces mark the words the citizen meant: read each on its own.
                parts = [convert_word(word) or word for word in typed.split()]
                chinese = "".join(parts) if parts != typed.split() else None
            chinese = chinese or convert(typed)
            if chinese:
                corrections.append((typed, chinese))
                return chinese
            return typed

        return _LATIN_RUN.sub(replace, fold_tones(text))

    # --- Homophone typos ----------------------------------------------------------------------
    def _known_word(self, word: str) -> bool:
        return word in self.domain_words or self.tokenizer.FREQ.get(word, 0) > 0

    def _fix_homophone(self, word: str, among: set[str] | None = None) -> str | None:
        """One character swapped for a same-sounding one that makes a word the corpus contains (and,
        given `among`, one of those words)."""
        best: tuple[int, str] | None = None
        for position, char in enumerate(word):
            syllable = _syllable(char)
            for other in self.index.chars_by_syllable.get(syllable, [])[:60]:
                if other == char:
                    continue
                candidate = word[:position] + other + word[position + 1 :]
                # The word lists first: they are a lookup, the corpus count is not.
                if (among is not None and candidate not in among) or not self._known_word(candidate):
                    continue
                df = self.index.phrase_df(candidate)
                if df > 0 and (best is None or df > best[0]):
                    best = (df, candidate)
        return best[1] if best else None

    def _join_split_typos(self, text: str, corrections: list[tuple[str, str]]) -> str:
        """A typo can break a term in two known words (质量粤 segments as 质量 + 粤, the province):
        two neighbours, one a single character, that no page writes together but that read like a
        term of the knowledge with one character swapped, are that term."""
        tokens = self._cut(text)
        for left, right in itertools.pairwise(tokens):
            pair = left + right
            single = left if len(left) == 1 else right
            if not (3 <= len(pair) <= 8 and len(single) == 1 and _CJK_WORD.match(pair)):
                continue
            if single in self.lexicon.stopwords or single in QUESTION_CHARS:
                continue  # 质量 + 是: a function word beside a term is not a broken term
            if self.index.phrase_df(pair) > 0:
                continue
            fixed = self._fix_homophone(pair, among=self.domain_words)
            if fixed:
                corrections.append((pair, fixed))
                text = text.replace(pair, fixed)
        return text

    def _digit_variant(self, word: str) -> str | None:
        """六大 -> 6大: pages write small numbers either way. A lone 一 stays: it begins too many words
        that count nothing (一共, 一起, 一块, 一直)."""
        variant = _SMALL_NUMBER.sub(
            lambda m: m.group(0) if m.group(0) == "一" else str(cn2an.cn2an(m.group(0), "smart")), word)
        return variant if variant != word and self.index.phrase_df(variant) > 0 else None

    def _guessed(self, word: str) -> bool:
        """True for a word jieba made up from unknown characters rather than found in a dictionary."""
        return self.tokenizer.FREQ.get(word, 0) <= 0 and word not in self.domain_words

    def _split_unknown(self, word: str) -> list[str] | None:
        """A word that is not in the corpus split into known parts: a guessed word anywhere
        ("软件谷要" segmented as 软件/谷要: 谷要 becomes 谷 + 要), a dictionary word only into a
        known word and one character ("主持人" becomes 主持 + 人)."""
        if not self._guessed(word):
            for head, tail in ((word[:-1], word[-1:]), (word[1:], word[:1])):
                if len(head) >= 2 and self.index.phrase_df(head) > 0:
                    return [head] if tail in self.lexicon.stopwords else [head, tail]
            return None
        for cut in range(1, len(word)):
            left, right = word[:cut], word[cut:]
            if all(part in self.lexicon.stopwords or self.index.phrase_df(part) > 0 for part in (left, right)):
                return [part for part in (left, right) if part not in self.lexicon.stopwords]
        return None

    def _resolve(self, token: str, corrections: list[tuple[str, str]]) -> list[str]:
        """The content words a token stands for, after digit, typo and split repairs."""
        if len(token) >= 2 and _ASKING.search(token) and self.index.phrase_df(token) == 0:
            # A made-up token around a question character (分几大, 第几个) is the question's frame:
            # only what surrounds the question character can be content.
            return [word for piece in _ASKING.split(token) if piece for word in self._resolve(piece, corrections)]
        glued = len(token) == 2 and _CJK_WORD.match(token) and self._guessed(token)
        if (not (_CJK_WORD.match(token) or token[0].isdigit()) or self.index.phrase_df(token) > 0) and not glued:
            return [token]
        if self.index.phrase_df(token) == 0:
            for repair in (self._digit_variant, self._fix_homophone):
                fixed = repair(token)
                if fixed:
                    corrections.append((token, fixed))
                    return [fixed]
        if glued or (len(token) == 2 and any(char in self.lexicon.stopwords for char in token)):
            # Two characters glued together by guesswork ("人去"), or a content character with a
            # function word ("奖给"), are two words.
            return [char for char in token if char not in self.lexicon.stopwords]
        return self._split_unknown(token) or [token]

    # --- Weights ------------------------------------------------------------------------------
    def weight(self, word: str) -> float:
        if len(word) == 1 and not word.isdigit():
            return SINGLE_CHAR_WEIGHT
        return self.index.idf(self.index.phrase_df(word))

    def _content_words(self, text: str, corrections: list[tuple[str, str]]) -> dict[str, float]:
        words: dict[str, float] = {}
        previous = ""
        lexicon = self.lexicon
        skipped = lexicon.stopwords | lexicon.frame_words | self.frames
        for token in self._cut(text):
            token, asked_kind = token.strip(), previous in lexicon.question_words and token in lexicon.asked_kinds
            previous = token or previous
            if not token or not _CONTENT.search(token) or token in skipped or asked_kind:
                continue
            if self.tags.get(token) in FUNCTION_TAGS and token not in self.domain_words:
                continue
            if len(token) < 2:
                words[token] = self.weight(token)
                continue
            for word in self._resolve(token, corrections):
                words[word] = self.weight(word)
        return words

    def analyse(self, question: str, today: dt.date | None = None) -> Query:
        text = normalise(question)[:MAX_QUERY_CHARS]
        corrections: list[tuple[str, str]] = []
        text = self._convert_latin(text, corrections)
        text = expand_short_years(text, (today or dt.date.today()).year)
        cues = {name for name, pattern in self.cues.items() if pattern.search(text)}
        text = self._join_split_typos(text, corrections)
        latin = len(corrections)
        words = self._content_words(text, corrections)
        if len(corrections) > latin:
            # Segment again once typos are fixed, so a repaired name is seen whole (质量发展纲要).
            for wrong, right in corrections[latin:]:
                text = text.replace(wrong, right)
            words = self._content_words(text, [])
        words.update(self._unknown_named_days(text, words))
        bm25_terms: dict[str, float] = {}
        for word in words:
            for term in index_terms(word):
                bm25_terms[term] = bm25_terms.get(term, 0.0) + 1.0
        # A question that writes its year speaks from that year: its 上一年/去年 is the baseline of a
        # comparison (2014年比上一年多了几个), not a year asked about as counted from today.
        written = written_years(text)
        relative = not written and has_relative_year(text)
        years = written or relative_years(text, today.year if today else None)
        for year in years:  # 去年 finds what pages write as 2025; the years beside it, weakly, so
            bm25_terms.setdefault(str(year), 1.0)  # that a missing year can be answered with the nearest
            for near in (year - 1, year + 1):
                bm25_terms.setdefault(str(near), 0.3)
        found_places = [place for place in self.gazetteer.find(text) if not _names_no_scope(place, text)]
        places = self._place_groups(found_places)
        place_forms = {form for place in found_places for form in (place.name, place.short)}
        slot_words = {
            word for word in words
            if any(word in form or form in word for form in place_forms) or written_years(word) & years
        }
        patterns = {word: pattern for word in words if (pattern := self._pattern(word, text))}
        # Names (places, years, numbers, long terms, words the segmenter did not know) are stated
        # once on a page and meant throughout; a short common noun (奖金) is not.
        anchors = {
            word for word in words
            if word in slot_words or (word in self.domain_words and len(word) >= 4)
            or any(c.isdigit() for c in word) or (len(word) >= 2 and self._guessed(word))
        }
        parts = {word: found for word in words if len(word) >= 4 and _CJK_WORD.match(word)
                 and len(found := self._parts(word)) > 1}
        return Query(text, words, bm25_terms, cues, years, places, corrections, patterns, anchors, parts,
                     known_parts={word: found for word, found in parts.items() if self._known_word(word)},
                     national=not places and is_national(text) and not _ASKS_PROVINCE.search(text),
                     relative=relative,
                     slot_words=slot_words, rounds=ordinals(text),
                     soft=frozenset(w for w in words if self._soft(w) and w not in slot_words),
                     own_level=any(place.name + word in text for place in found_places for word in _OWN_LEVEL),
                     members=bool(_MEMBERS.search(text)))

    def _unknown_named_days(self, text: str, words: dict[str, float]) -> dict[str, float]:
        """A named day, festival or week the question writes as nouns + 日/节/周 (世界质量日) and the
        knowledge never mentions: the name itself becomes a content word, so that its parts found
        apart on a page (物联世界 质量强省 … 9月2日) cannot make an answer."""
        tokens = self._cut(text)
        found: dict[str, float] = {}
        for position, token in enumerate(tokens):
            if token not in _NAME_ENDINGS:
                continue
            nouns: list[str] = []
            for before in reversed(tokens[max(0, position - 3) : position]):
                if not ((self.tags.get(before) or "x").startswith("n") or before in self.domain_words):
                    break
                nouns.insert(0, before)
            name = "".join(nouns) + token
            if len(name) >= 5 and name not in words and self.index.phrase_df(name) == 0:
                found[name] = self.weight(name)
        return found

    def _soft(self, word: str) -> bool:
        tag = self.tags.get(word)
        return tag is not None and tag[0] in SOFT_TAGS and word not in self.domain_words

    @staticmethod
    def _place_groups(places: list[Place]) -> list[tuple[Place, ...]]:
        """Places named in a question, one group per name (朝阳 is several places); a place inside
        another named one narrows it (湖南郴州 asks about 郴州)."""
        groups: dict[str, list[Place]] = {}
        for place in places:
            groups.setdefault(place.short, []).append(place)
        result = [tuple(group) for group in groups.values()]
        return [g for g in result if not any(o is not g and any(x.within(p) and x.level != p.level
                                                                  for x in o for p in g) for o in result)]

    @staticmethod
    def _parts(word: str) -> list[str]:
        """The dictionary words a long word is made of, in order: 质量月活动 -> 质量月, 活动."""
        return list(_dictionary_parts(word))

    def _pattern(self, word: str, text: str) -> re.Pattern[str] | None:
        """A matcher for words with synonyms or titles; plain words are matched as substrings."""
        forms = {word} | self.synonyms.get(word, set())
        titled = bool(self.lexicon.titles) and word.endswith(self.lexicon.titles) and f"副{word}" not in text
        if len(forms) == 1 and not titled:
            return None
        alternation = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        return re.compile(f"(?<!副)(?:{alternation})" if titled else alternation)
