"""Answer selection: candidates from the index, checked against the question's slots, reranked by how
much of the question they cover, then one decision: answer, ask which one, say what is missing, point
elsewhere, or decline.

A candidate's confidence is the share of the question's content (weighted by rarity) that it, or the
page it comes from, contains. Words the knowledge has never seen weigh the most, so a question about
something we do not know gets an honest "I don't know" instead of the nearest passage. Slots are hard
constraints: a year or place the question states must be the unit's own, never borrowed from a
neighbour; when only other years or places are known, the reply says so and names them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from bot import strings
from bot.answers.compose import compose, cues_met, date_relative_words, focus
from bot.answers.index import SearchIndex, quoted_terms
from bot.answers.query import Query, QueryAnalyzer, base_tokenizer, make_tokenizer, question_frames
from bot.answers.segment import Segmenter
from bot.answers.slots import (
    Gazetteer,
    Place,
    dictionary_tags,
    is_national,
    ordinals,
    relative_years,
    written_years,
)
from bot.answers.units import Unit
from bot.knowledge.conflicts import superseded
from bot.knowledge.model import Pointer, Snapshot, Source
from bot.text import clean_control, normalise, typeset

log = logging.getLogger(__name__)

CANDIDATES = 30
COMMON_GRAM_SHARE = 0.2  # a bigram in more units than this share is left out of the search
COMMON_WORD_FLOOR = 5000  # and so is a word, in a folder larger than this (a small one needs all its words)
DETAILED = 5  # candidates judged in full (answer cut, cue, focus)
DETAIL_LEAD = 1.0  # keeps fully judged candidates ahead of those only counted
ANSWER_AT = 0.72  # confidence needed to answer
POINTER_OVERRULED_AT = 0.9  # and to answer a question a pointer would send elsewhere
FIGURE_CUES = frozenset({"number", "date", "day"})
TOPIC_AT = 0.6  # and the share of what is asked about, apart from years and places, that it covers
SUGGEST_AT = 0.40  # below ANSWER_AT but above this: "did you mean" suggestions
CLEAR_LEAD_AT, CLEAR_LEAD_TOPIC, CLEAR_LEAD = 0.6, 0.5, 0.2  # a candidate this far ahead of the rest is answered
MIN_EVIDENCE = 2.0  # matched weight needed, so one common word cannot carry an answer
# A word found elsewhere on the same page, not in the passage itself, counts for less; in an entry's
# details even less, since its answer is meant to stand alone.
CONTEXT_CREDIT = {"passage": 0.75, "entry": 0.5}
PARTIAL_CREDIT = 0.3
SOFT_MISS = 0.5
CUE_EVIDENCE_WEIGHT = 1.5
CUE_MISSED = 0.85  # the answer holds no fact of the kind asked for (no number for 多少, ...)
PHRASING_MATCH = 0.82
NEAR_TIE = 0.03
MAIN_SENTENCE_SHARE = 0.5  # sentences holding this share of the best one's match may be the answering one
MAIN_SENTENCE_FLOOR = 0.25  # and the best must hold this share of the question to be told apart at all
NATIONAL_DEFAULT = 0.05  # a question that names no place is first about the whole country
PLACE_EXACT = 0.05  # a unit about the asked place itself beats one about a place inside it
YEAR_EXACT = 0.05  # and one dated in the asked year beats one that mentions that year
ROUND_EXACT = 0.3  # one titled with the asked round (第四届…) is about it; another only mentions it
ANSWERS_KEPT = 2048  # recent answers kept per engine: citizens ask the same few questions over and over
# Between equally good candidates, official pages win over media, media over Q&A and template sites.
SOURCE_PREFERENCE = {"official_doc": 0.03, "official_news": 0.03, "media": 0.01, "qa": -0.02, "template": -0.02}
CHINA = ZoneInfo("Asia/Shanghai")
SENTENCE_TAGS = frozenset({"r", "y", "uj", "ul", "p", "c"})  # pronouns (什么), particles, prepositions
_QUOTED = re.compile(r"《([^》]{2,20})》|“([^”]{2,12})”")
_FACT_CLAUSE = re.compile(r"[^。！？!?；;]+[。！？!?；;]?")  # one fact each: sentences, and clauses after ；
_BOOK_TITLE = re.compile(r"《[^》]*》")
_BASELINE_YEAR = re.compile(r"(?:比|较|相比|同比)(?:上一年|上年|去年|前年|上届|上一届|\d{4}年)")
_WORDS = re.compile(r"[a-zA-Z\u3400-\u9fff\uf900-\ufaff]")  # a question has at least one letter or character


@dataclass(frozen=True)
class Answer:
    matched: bool
    answer: str
    score: int
    sources: tuple[Source, ...] = ()
    suggestions: tuple[str, ...] = ()
    # answered | unsure | unknown | empty | no_record | ambiguous | pointer | not_question
    reason: str = "answered"

    @property
    def offers_choice(self) -> bool:
        """The suggestions are candidates for what was meant, not just questions to try."""
        return self.reason in ("unsure", "ambiguous", "no_record")

    def as_json(self) -> dict[str, object]:
        return {
            "matched": self.matched,
            "answer": self.answer,
            "score": self.score,
            "reason": self.reason,
            "sources": [source.as_json() for source in self.sources],
            "suggestions": list(self.suggestions),
        }


@dataclass
class Candidate:
    unit: Unit
    bm25: float
    confidence: float = 0.0
    topic: float = 0.0  # confidence over the words that are not years or places
    rank: float = 0.0
    evidence: float = 0.0
    answer: str = ""
    missing: list[str] = field(default_factory=list)  # asked slots this unit does not have
    rank_confidence: float = 0.0  # the confidence the first ranking used
    detailed: bool = False


def domain_words(snapshot: Snapshot) -> set[str]:
    """Names the segmenter must keep whole: the lexicon's terms, tags, titles in 《》 and short
    quoted terms."""
    words: set[str] = set(snapshot.lexicon.terms)
    for entry in snapshot.entries:
        words.update(normalise(tag) for tag in entry.tags)
        for text in (entry.title, entry.answer, entry.details, entry.question):
            for match in _QUOTED.finditer(normalise(text)):
                words.add(match.group(1) or match.group(2))
    words.update(quoted_terms(snapshot.articles, _QUOTED))  # page by page, cached by content
    kept = {word.strip() for word in words if word and " " not in word.strip() and 2 <= len(word.strip()) <= 12}
    function_words = snapshot.lexicon.stopwords | snapshot.lexicon.question_words
    return {word for word in kept if not _sentence_like(word, function_words)}


def _sentence_like(term: str, function_words: frozenset[str]) -> bool:
    """A quoted question or clause (“质量月主题是什么”, “质量月是几月”) is not a name: keeping it
    whole would glue a citizen's question into one unknown word."""
    tags = dictionary_tags()
    return any(tags.get(token) in SENTENCE_TAGS or token in function_words
               for token in base_tokenizer().lcut(term, HMM=False))


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


class Engine:
    """Answers questions from one knowledge snapshot. Build a new Engine to change knowledge.
    `today` resolves 今年/去年 in questions; tests pass a fixed date."""

    def __init__(self, snapshot: Snapshot, today: Callable[[], dt.date] = today_in_china) -> None:
        self.snapshot = snapshot
        self.today = today
        words = domain_words(snapshot)
        segmented = words | question_frames(snapshot.lexicon)  # kept whole by the segmenter
        self.tokenizer = make_tokenizer(segmented)
        self.index = SearchIndex(snapshot, Segmenter(self.tokenizer), vocabulary=segmented)
        self.analyzer = QueryAnalyzer(self.index, self.tokenizer, words, snapshot.lexicon)
        self.superseded = superseded(snapshot.entries)
        self.pointers = tuple((pointer, tuple(normalise(k) for k in pointer.keywords)) for pointer in snapshot.pointers)
        # Entry phrasings reduced to their content words, as questions are, for fuzzy comparison.
        self.phrasing_cores: dict[str, tuple[str, ...]] = {
            unit.key: tuple("".join(self.analyzer.analyse(p).words) for p in unit.phrasings)
            for unit in self.index.units[: len(snapshot.entries)]  # entries come first; pages stay unread
        }
        self._title_rounds: dict[str, frozenset[tuple[int, str]]] = {}  # filled as units are judged
        # An answer depends only on this snapshot, the question's exact text and the day (今年), so a
        # repeated question is answered from here. New knowledge is a new Engine, with an empty one.
        self._answers: dict[tuple[str, dt.date], Answer] = {}
        self._answers_lock = threading.Lock()

    # --- slots --------------------------------------------------------------------------------
    @staticmethod
    def _missing(unit: Unit, query: Query) -> list[str]:
        """The asked years and places a unit does not speak of."""
        slots = unit.slots
        if slots is None:
            return []
        missing = [f"{year}年" for year in sorted(query.years) if year not in slots.years]
        if query.relative and not missing and slots.page_year is not None and slots.page_year not in query.years:
            # 今年/去年 asks for that year's own fact: a unit dated another year that only mentions
            # it (a 2023 plan's target for 2025) is not that.
            missing = [f"{year}年" for year in sorted(query.years)]
        missing.extend(f"第{number}{measure}" for number, measure in sorted(query.rounds - slots.rounds))
        for group in query.places:
            if not any(_covers(slots.scope, slots.named, asked, query.own_level)
                       or (query.members and slots.national and _names_within(slots.named, asked))
                       for asked in group):
                missing.append(group[0].name)
        if query.national and not slots.national:
            missing.append(strings.NATIONAL_LABEL)
        return missing

    # --- scoring ------------------------------------------------------------------------------
    def _assess(self, candidate: Candidate, query: Query) -> None:
        unit = candidate.unit
        confidence, topic, evidence, in_unit = self._coverage(unit, query, unit.text)
        total = query.total_weight
        candidate.topic = topic
        similarity = 0.0
        cores = self.phrasing_cores.get(unit.key)
        if cores:
            core = "".join(query.words)
            similarity = max(fuzz.ratio(core, phrasing) for phrasing in cores) / 100
            # Near-identical wording rescues a short question, not one that asks for more than we hold.
            if similarity >= PHRASING_MATCH and confidence >= 0.6:
                confidence = max(confidence, similarity)
                evidence = max(evidence, MIN_EVIDENCE)
            else:
                similarity = 0.0
        candidate.missing = self._missing(unit, query)
        candidate.confidence = confidence
        candidate.evidence = evidence
        # Among equally confident candidates prefer the one whose own text holds the words, that is
        # asked for in those words, that is curated, or that opens its article (news leads summarise).
        candidate.rank = (confidence + 0.3 * (in_unit / total if total else 0.0) + 0.15 * similarity
                          + (0.03 if unit.kind == "entry" else 0.0) + (0.02 if unit.key.endswith("#0") else 0.0)
                          + 0.05 * candidate.bm25 + (NATIONAL_DEFAULT if _national_default(unit, query) else 0.0)
                          + (PLACE_EXACT if _exact_place(unit, query) else 0.0)
                          + (YEAR_EXACT if unit.slots and unit.slots.page_year in query.years else 0.0)
                          + (ROUND_EXACT if query.rounds and query.rounds <= self.title_rounds(unit) else 0.0)
                          + SOURCE_PREFERENCE.get(unit.source.kind or "", 0.0))
        if unit.kind == "entry" and unit.extra and confidence < 1.0 and any(
                query.found(word, unit.extra) for word in query.words if not query.found(word, unit.text)):
            # An entry whose details hold what its answer lacks is worth judging in full: the
            # answer then shows the detail sentence, and is judged on it (_detail).
            with_details = self._coverage(unit, query, unit.text, unit.extra)[0]
            candidate.rank += 0.5 * (with_details - confidence)

    def title_rounds(self, unit: Unit) -> frozenset[tuple[int, str]]:
        """The rounds a unit's title names (第四届中国质量奖 -> (4, 届)): such a unit is about that
        round, where another may only mention it. Read when first needed: passages load lazily."""
        rounds = self._title_rounds.get(unit.key)
        if rounds is None:
            rounds = self._title_rounds[unit.key] = ordinals(normalise(unit.title))
        return rounds

    def _coverage(self, unit: Unit, query: Query, text: str, aside: str = "") -> tuple[float, float, float, float]:
        """How much of the question a text holds: (confidence, topic share, evidence weight, weight
        found in the text itself rather than the title or context). Words found only in `aside`
        (an entry's detail sentence) earn what its title or context would."""
        title = unit.fold(unit.title)
        total = query.total_weight
        covered = evidence = in_unit = topic = forgiven = 0.0
        credit = CONTEXT_CREDIT[unit.kind]
        found, soft, anchors, slot_words = query.found, query.soft, query.anchors, query.slot_words
        for word, weight in query.words.items():
            hit = found(word, text)
            if not hit and word in soft:
                # A verb or quantity word missing says how the question is put more than what
                # it is about (一起搞的, 参加): its absence counts half.
                forgiven += weight * SOFT_MISS
            if hit:
                gained = weight
                in_unit += weight
            elif (self._in_title(query, word, title)
                  or (word in anchors and self._in_context(query, word, unit.context))
                  or (aside and found(word, aside))):
                gained = weight * credit
            elif len(word) >= 2 and word not in slot_words:
                # A word written differently on the page (主讲 for 主讲人) earns a little for each
                # of its pieces there (characters of a two-character word, else its bigrams).
                pieces = query.pieces(word)
                gained = weight * PARTIAL_CREDIT * sum(1 for p in pieces if p in text) / len(pieces)
                if not gained:
                    continue
            else:
                continue
            covered += gained
            evidence += gained
            if word not in slot_words:
                topic += gained
        confidence = covered / (total - forgiven) if total > forgiven else 0.0
        topic_total = query.topic_weight - forgiven
        return confidence, topic / topic_total if topic_total > 0 else confidence, evidence, in_unit

    @staticmethod
    def _in_title(query: Query, word: str, title: str) -> bool:
        """Whether a unit's title holds a word; asked once per title and word (a page's passages
        share one)."""
        key = (word, title)
        hit = query.title_hits.get(key)
        if hit is None:
            hit = query.title_hits[key] = query.found(word, title)
        return hit

    def _in_context(self, query: Query, word: str, context: int) -> bool:
        """Whether a page's context (its title and lead) holds a word; asked once per page and word,
        since many candidates come from the same page."""
        key = (word, context)
        hit = query.context_hits.get(key)
        if hit is None:
            hit = query.context_hits[key] = query.found(word, self.index.contexts[context])
        return hit

    def _detail(self, candidate: Candidate, query: Query) -> None:
        """The costlier half of judging, for the leading candidates only: cut the answer, check that
        its sentences keep to the asked slots and hold the kind of fact asked for."""
        unit = candidate.unit
        candidate.detailed = True
        candidate.answer = compose(unit, query)
        shown = unit.fold(candidate.answer)
        if unit.kind == "entry" and len(candidate.answer) > len(unit.sentences[0]):
            # The answer shows a detail sentence too: the citizen reads it as part of the answer, so
            # what it holds counts as the entry's own words (its slots are checked below).
            confidence, topic, evidence, _ = self._coverage(unit, query, f"{unit.text}\n{shown}")
            if confidence > candidate.confidence:
                candidate.confidence, candidate.topic = confidence, max(candidate.topic, topic)
                candidate.evidence = max(candidate.evidence, evidence)
        candidate.missing = candidate.missing or _shown_missing(shown, unit, query)
        cue_share = cues_met(shown, query) / len(query.cues) if query.cues else 0.0
        if query.cues and not cue_share:
            candidate.confidence *= CUE_MISSED
            candidate.topic *= CUE_MISSED
        # Holding the kind of fact asked for (a month for 几月) supports a short question made only
        # of common words as much as a rare word would.
        candidate.evidence += CUE_EVIDENCE_WEIGHT * cue_share
        # Prefer an answer that meets the question's cue and holds its words close together.
        candidate.rank += (candidate.confidence - candidate.rank_confidence + 0.1 * cue_share
                           + 0.2 * focus((candidate.answer,), query, unit.fold))

    def candidates(self, query: Query) -> list[Candidate]:
        # A bigram in a large share of the units (质量) hardly ranks, yet walking its postings is most
        # of a search's cost over a large knowledge folder.
        common = COMMON_GRAM_SHARE * self.index.size
        grams = {term: 1.0 for term in query.bm25_terms if self.index.term_df(term) <= common}
        words = {word: 1.5 for word in query.words if len(word) >= 2}
        if len(words) > 1 and self.index.size > COMMON_WORD_FLOOR:
            # So is a word in that many units (质量月 in a folder of Quality Month pages), unless it
            # is the rarest the question has: something must be searched for.
            counts = {word: self.index.word_df(word) for word in words}
            rarest = min(counts, key=counts.__getitem__)
            words = {word: boost for word, boost in words.items() if counts[word] <= common or word == rarest}
        for word in list(words):
            for form in self.analyzer.synonyms.get(word, ()):
                words.setdefault(form, 1.0)
        ranked = self.index.search(words, grams, CANDIDATES)
        if not ranked:
            return []
        top = ranked[0][1] or 1.0
        found = [Candidate(self.index.units[number], score / top) for number, score in ranked]
        for candidate in found:
            self._assess(candidate, query)
            candidate.rank_confidence = candidate.confidence
        found.sort(key=lambda c: c.rank, reverse=True)
        # Only the leading candidates are judged in full: the decision rests on them, and cutting an
        # answer costs far more than counting words. Those judged in full keep their lead.
        for candidate in found[:DETAILED]:
            self._detail(candidate, query)
            candidate.rank += DETAIL_LEAD
        found.sort(key=lambda c: c.rank, reverse=True)
        return found

    # --- answering ----------------------------------------------------------------------------
    def answer_afresh(self, question: str) -> Answer:
        """The answer worked out now, not taken from the recent answers: what a question asked for
        the first time costs (benchmarks measure this)."""
        return self._ask(question, self.today())

    def ask(self, question: str) -> Answer:
        key = (question or "", self.today())
        answer = self._answers.get(key)
        if answer is None:
            answer = self._ask(question, key[1])
            with self._answers_lock:
                if len(self._answers) >= ANSWERS_KEPT:
                    del self._answers[next(iter(self._answers))]  # the oldest
                self._answers[key] = answer
        return answer

    def _ask(self, question: str, today: dt.date) -> Answer:
        question = clean_control(question or "")
        if not question.strip():
            return Answer(False, strings.EMPTY_QUESTION, 0, suggestions=strings.DEFAULT_SUGGESTIONS,
                          reason="empty")
        if not _WORDS.search(question):
            return Answer(False, strings.NOT_A_QUESTION, 0, suggestions=strings.DEFAULT_SUGGESTIONS,
                          reason="not_question")
        query = self.analyzer.analyse(question, today)
        if not query.words:
            return Answer(False, strings.NO_CONTENT, 0, suggestions=strings.DEFAULT_SUGGESTIONS, reason="empty")
        return self._decide(query, self._official_first(self.candidates(query)))

    def _official_first(self, found: list[Candidate]) -> list[Candidate]:
        """Where two entries state one fact differently, the less official one is not an answer while
        the more official one is among the candidates (kb check lists the conflict for admins)."""
        if not self.superseded:
            return found
        present = {candidate.unit.key for candidate in found if candidate.unit.kind == "entry"}
        return [candidate for candidate in found
                if not (candidate.unit.kind == "entry" and self.superseded.get(candidate.unit.key) in present)]

    def _decide(self, query: Query, found: list[Candidate]) -> Answer:
        fitting = [c for c in found if not c.missing]
        # The best fitting candidate may lie past those judged in full: judge it now, as many times
        # as judging moves another one ahead of it.
        while fitting and not fitting[0].detailed:
            self._detail(fitting[0], query)
            fitting = sorted((c for c in fitting if not c.missing), key=lambda c: (c.detailed, c.rank), reverse=True)
        best = fitting[0] if fitting else None
        sure = (best is not None and best.confidence >= ANSWER_AT and best.topic >= TOPIC_AT
                and best.evidence >= MIN_EVIDENCE)
        if not sure and best is not None and best.confidence >= CLEAR_LEAD_AT and best.topic >= CLEAR_LEAD_TOPIC \
                and best.evidence >= MIN_EVIDENCE:
            # Short of the bar, but far ahead of every other fitting candidate: there is nothing else
            # it could be mistaken for, so "did you mean" would only make the citizen press a button.
            second = max((c.confidence for c in fitting[1:]), default=0.0)
            sure = best.confidence - second >= CLEAR_LEAD
        pointer = self._pointer(query)
        if pointer is not None and not (sure and best is not None and best.confidence >= POINTER_OVERRULED_AT
                                        and query.cues & FIGURE_CUES):
            # A question in a pointer's field (召回, 投诉) goes there, unless it asks for a figure or a
            # date the knowledge itself states outright (how many recalls there have been is a
            # quality-policy fact; how to look up one's own car is a service).
            return Answer(False, f"{strings.POINTER_HEAD}{pointer.answer}", 0, (pointer.source,), reason="pointer")
        if sure and best is not None:
            exact = _exact_place(best.unit, query)
            rivals = [c for c in fitting[1:] if c.rank >= best.rank - NEAR_TIE and c.confidence >= ANSWER_AT
                      and _exact_place(c.unit, query) == exact]
            differing = [c for c in rivals if _open_difference(best.unit, c.unit, query)]
            if rivals and not any(len(word) >= 2 for word in query.words if word not in query.slot_words):
                # Only a year or place, no topic (2016年南阳有多少个; single characters such as 年
                # say nothing): several facts of that year and place fit alike, and picking one
                # would be a guess.
                return Answer(False, strings.UNSURE, round(100 * best.confidence),
                              suggestions=self._labels([best, *rivals]), reason="unsure")
            if differing:
                labels = self._labels([best, *differing], with_slots=True)
                return Answer(False, strings.AMBIGUOUS, round(100 * best.confidence), suggestions=labels,
                              reason="ambiguous")
            slots = best.unit.slots
            text = typeset(date_relative_words(best.answer, slots.page_year if slots else None))
            return Answer(True, text, min(100, round(100 * best.confidence)), (best.unit.source,),
                          self._labels([c for c in rivals if c.unit.label != best.unit.label]))
        # Nothing fitting is close, but the topic is known for other years or places: say which.
        elsewhere = [c for c in found if c.missing and c.topic >= ANSWER_AT]
        if query.years:  # the nearest years first: what a citizen asking about 2026 wants next
            elsewhere.sort(key=lambda c: (len(c.missing), _year_distance(c.unit, query)))
        # "No record of 2021" would be false while a unit dated 2021 fits the question fairly: offer it.
        held = any(c.confidence >= SUGGEST_AT and c.unit.slots is not None and c.unit.slots.page_year in query.years
                   for c in fitting)
        if elsewhere and query.topic_weight and not held:
            known = "、".join(dict.fromkeys(_slot_label(c.unit) for c in elsewhere[:4] if _slot_label(c.unit)))
            asked = _asked_label(query)
            if known and asked:
                text = strings.NO_RECORD.format(asked=asked, known=known)
                return Answer(False, text, round(100 * elsewhere[0].topic), reason="no_record",
                              suggestions=self._labels(elsewhere, with_slots=True))
        if best is not None and best.confidence >= SUGGEST_AT:
            return Answer(False, strings.UNSURE, round(100 * best.confidence), suggestions=self._labels(fitting),
                          reason="unsure")
        return Answer(False, strings.UNKNOWN, round(100 * best.confidence) if best else 0,
                      suggestions=strings.DEFAULT_SUGGESTIONS, reason="unknown")

    def _pointer(self, query: Query) -> Pointer | None:
        """The first pointer one of whose keywords the question uses."""
        for pointer, keywords in self.pointers:
            if any(keyword in query.text for keyword in keywords):
                return pointer
        return None

    def guesses(self, question: str, limit: int = 3) -> list[tuple[str, str]]:
        """The curated entries closest to a question, even below the answer threshold: what an admin
        may attach an unanswered question to. (entry id, title) pairs, best first."""
        query = self.analyzer.analyse(clean_control(question or ""), self.today())
        found = [c.unit for c in self.candidates(query) if c.unit.kind == "entry"] if query.words else []
        return [(unit.key, unit.title) for unit in found[:limit]]

    @staticmethod
    def _labels(found: list[Candidate], limit: int = 3, with_slots: bool = False) -> tuple[str, ...]:
        """Suggestion texts; with slots, each names what sets it apart (2017年 江西省: …)."""
        titles: list[str] = []
        for candidate in found:
            label = candidate.unit.label
            if with_slots and (slots := _slot_label(candidate.unit)) and slots not in label:
                label = f"{slots}：{label}"
            if label and label not in titles:
                titles.append(label)
            if len(titles) == limit:
                break
        return tuple(titles)



def _covers(scope: tuple[Place, ...], named: frozenset[str], asked: Place, own_level: bool = False) -> bool:
    """A unit answers for an asked place when it is about that place, or about a place inside it and
    names the asked place itself (a 金华 award is not a 浙江 provincial one). When the question asks
    about the place's own government or level, only a unit about that place itself does."""
    return any(place.within(asked) and (place.level == asked.level or (asked.code in named and not own_level))
               for place in scope)


def _names_within(named: frozenset[str], asked: Place) -> bool:
    """The unit names the asked place or a place inside it (浙江: 杭州, 宁波)."""
    places = Gazetteer.shared().by_code
    return any(place.within(asked) for code in named if (place := places.get(code)) is not None)


def _shown_missing(shown: str, unit: Unit, query: Query) -> list[str]:
    """The sentences actually shown must not speak of another year, or of a place when the whole
    country was asked about: a national entry's aside about one province is not a national fact.
    And the sentence that answers (one holding nearly as much of the question as the best) must not
    be another year's or another place's fact: a page may name the asked year or city in one
    sentence and state a figure of some other year or city in the next."""
    missing = []
    page_year = unit.slots.page_year if unit.slots else None
    if query.years:
        stated = written_years(shown) | relative_years(shown, page_year)
        if stated and not query.years <= stated:
            missing.extend(f"{year}年" for year in sorted(query.years - stated))
    if query.national and not is_national(shown) and Gazetteer.shared().places_in(shown):
        missing.append(strings.NATIONAL_LABEL)
    if missing or not (query.years or query.places):
        return missing
    sentences = [clause for clause in _FACT_CLAUSE.findall(shown) if clause.strip()] or [shown]
    subject = normalise(unit.title)
    scores = [_topic_score(sentence, query, subject) for sentence in sentences]
    if max(scores) < MAIN_SENTENCE_FLOOR * query.total_weight:
        return []  # no sentence holds enough of the question to be told apart as the answering one
    leading = [s for s, score in zip(sentences, scores, strict=True) if score >= MAIN_SENTENCE_SHARE * max(scores)]
    conflicts = [_sentence_conflicts(sentence, page_year, query) for sentence in leading]
    return [] if any(not found for found in conflicts) else conflicts[0]


def _topic_score(sentence: str, query: Query, subject: str) -> float:
    """How much of what is asked one sentence holds, apart from the years and places being checked
    and from what the whole unit is about (its title): which sentence answers is decided by the
    rest of the question. A figure inside a document's title (《纲要（2011—2020年）》) is not a fact
    of the kind asked for."""
    held = sum(weight for word, weight in query.words.items()
               if word not in query.slot_words and not query.found(word, subject) and query.found(word, sentence))
    cues = cues_met(_BOOK_TITLE.sub("", sentence), query)
    return held + 0.3 * query.total_weight * cues / max(1, len(query.cues))


def _sentence_conflicts(sentence: str, page_year: int | None, query: Query) -> list[str]:
    """The asked years and places one sentence contradicts: it states years, none of them asked; or
    names places, none of them the asked place, inside it, or around it."""
    conflicts = []
    sentence = _BOOK_TITLE.sub("", sentence)  # 《纲要（2011—2020年）》 names a document, not a year
    # A year a figure is compared with (比上一年的26个多了11个) is its baseline, not its year.
    sentence = _BASELINE_YEAR.sub("", sentence)
    stated = written_years(sentence) | relative_years(sentence, page_year)
    if not stated and page_year is not None and query.years and max(query.years) < page_year:
        # A sentence stating no year speaks of its page's time, or of plans ahead, never of the past:
        # a 2011 page's slogans are not 1978's, whatever year another of its sentences mentions.
        stated = {page_year}
    if query.years and stated and not query.years & stated:
        conflicts.extend(f"{year}年" for year in sorted(query.years))
    named = Gazetteer.shared().places_in(sentence) if query.places else ()
    for group in query.places:
        if named and not any(place.within(asked) or asked.within(place) for asked in group for place in named):
            conflicts.append(group[0].name)
    return conflicts


def _exact_place(unit: Unit, query: Query) -> bool:
    """The unit is about an asked place itself, not only a place inside it. Not a preference when
    the question asks where (湖南…在哪里举行 is answered by a city in 湖南)."""
    if not query.places or unit.slots is None or "place" in query.cues:
        return False
    codes = {place.code for place in unit.slots.scope}
    return any(asked.code in codes for group in query.places for asked in group)


def _national_default(unit: Unit, query: Query) -> bool:
    return not query.places and unit.slots is not None and unit.slots.national and not unit.slots.scope


def _year_distance(unit: Unit, query: Query) -> int:
    slots = unit.slots
    years = ({slots.page_year} if slots.page_year else slots.years) if slots else set()
    return min((abs(year - asked) for year in years for asked in query.years), default=9999)


def _slot_label(unit: Unit) -> str:
    return unit.slots.describe() if unit.slots else ""


def _asked_label(query: Query) -> str:
    parts = [f"{year}年" for year in sorted(query.years)]
    parts.extend(group[0].name for group in query.places)
    if query.national:
        parts.append(strings.NATIONAL_LABEL)
    parts.extend(f"第{number}{measure}" for number, measure in sorted(query.rounds))  # 全国第1届
    return "".join(parts)


def _open_difference(first: Unit, second: Unit, query: Query) -> bool:
    """Two fitting units differ in something the question left open: a year when none was asked, a
    place when none was named."""
    a, b = first.slots, second.slots
    if a is None or b is None or (_national_default(first, query) and not _national_default(second, query)):
        return False  # a question naming no place is first about the whole country
    if not query.years and a.years and b.years and not (a.years & b.years):
        return True
    if query.places or query.national or not a.scope or not b.scope:
        return False
    # Nested places are one topic seen at two levels (益阳 is in 湖南), not two different ones.
    return not any(x.within(y) or y.within(x) for x in a.scope for y in b.scope)
