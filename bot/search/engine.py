"""Answer selection: candidates from the index, reranked by how much of the question they cover.

A candidate's confidence is the share of the question's content (weighted by rarity) that it, or
the page it comes from, contains. Words the knowledge has never seen weigh the most, so a question
about something we do not know (天气, 护照, 机票) gets an honest "I don't know" instead of the
nearest passage. Years and places in the question must appear on the candidate's page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot import strings
from bot.knowledge.model import Snapshot, Source
from bot.search.answer import compose, cues_met, focus
from bot.search.index import SearchIndex
from bot.search.query import Query, QueryAnalyzer
from bot.search.units import Unit
from bot.text import clean_control, in_script_of, is_traditional, normalise, to_traditional

log = logging.getLogger(__name__)

CANDIDATES = 40
IMPACT_LIMIT = 3000  # postings read per query term at most (the highest-weighted ones)
ANSWER_AT = 0.72  # confidence needed to answer
SUGGEST_AT = 0.40  # below ANSWER_AT but above this: "did you mean" suggestions
MIN_EVIDENCE = 2.0  # matched weight needed, so one common word cannot carry an answer
# A word found elsewhere on the same page, not in the passage itself, counts for less; in an entry's
# details even less, since its answer is meant to stand alone.
CONTEXT_CREDIT = {"passage": 0.75, "entry": 0.5}
CUE_MISSED = 0.85  # the answer holds no fact of the kind asked for (no number for 多少, ...)
CONSTRAINT_PENALTY = 0.55
PHRASING_MATCH = 0.82
NEAR_TIE = 0.03
BINDING_DISTANCE = 8  # characters around a year in which the place it belongs to is written
_ADMIN_SUFFIX = re.compile("[省市县]")
_QUOTED = re.compile(r"《([^》]{2,20})》|“([^”]{2,12})”")


@dataclass(frozen=True)
class Answer:
    matched: bool
    answer: str
    score: int
    sources: tuple[Source, ...] = ()
    suggestions: tuple[str, ...] = ()
    reason: str = "answered"  # answered | unsure | unknown | empty

    def as_json(self) -> dict[str, object]:
        return {
            "matched": self.matched,
            "answer": self.answer,
            "score": self.score,
            "sources": [source.as_json() for source in self.sources],
            "suggestions": list(self.suggestions),
        }


@dataclass
class Candidate:
    unit: Unit
    bm25: float
    confidence: float = 0.0
    rank: float = 0.0
    evidence: float = 0.0
    answer: str = ""
    notes: list[str] = field(default_factory=list)


def domain_words(snapshot: Snapshot) -> set[str]:
    """Names the segmenter must keep whole: tags, regions, titles in 《》 and short quoted terms."""
    words: set[str] = set()
    for entry in snapshot.entries:
        words.update(normalise(tag) for tag in entry.tags)
        texts = [entry.title, entry.answer, entry.details, entry.question]
        for text in texts:
            for match in _QUOTED.finditer(normalise(text)):
                words.add(match.group(1) or match.group(2))
    for article in snapshot.articles:
        for paragraph in article.paragraphs:
            for match in _QUOTED.finditer(normalise(paragraph)):
                words.add(match.group(1) or match.group(2))
    return {word.strip() for word in words if word and " " not in word.strip()}


class Engine:
    """Answers questions from one knowledge snapshot. Build a new Engine to change knowledge."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.index = SearchIndex(snapshot)
        self.analyzer = QueryAnalyzer(self.index, domain_words(snapshot))
        self.impact_limit = IMPACT_LIMIT
        # Entry phrasings reduced to their content words, as questions are, for fuzzy comparison.
        self.phrasing_cores: dict[str, tuple[str, ...]] = {
            unit.key: tuple("".join(self.analyzer.analyse(p).words) for p in unit.phrasings)
            for unit in self.index.units if unit.kind == "entry"
        }

    # --- scoring ------------------------------------------------------------------------------
    def _assess(self, candidate: Candidate, query: Query) -> None:
        unit = candidate.unit
        context = self.index.contexts[unit.context]
        title = normalise(unit.title)
        total = query.total_weight
        covered = evidence = in_unit = 0.0
        credit = CONTEXT_CREDIT[unit.kind]
        for word, weight in query.words.items():
            if query.found(word, unit.text):
                covered += weight
                evidence += weight
                in_unit += weight
            elif query.found(word, title) or (word in query.anchors and query.found(word, context)):
                covered += weight * credit
                evidence += weight * credit
        confidence = covered / total if total else 0.0
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
        for year in query.years:
            if year not in context and year not in title:
                confidence *= CONSTRAINT_PENALTY
                candidate.notes.append(f"year {year} missing")
        # An entry must name the place itself; a passage may take it from its page, unless the
        # passage itself is about another place ("2022年益阳市…" does not answer "2022年湖南省…").
        others = self._other_places(unit.text, query) if unit.kind == "passage" else False
        where = unit.text if unit.kind == "entry" or others else context
        for place in query.places:
            stem = place[:-1] if len(place) > 2 and place[-1] in "省市县区" else place
            if stem not in where and stem not in title:
                confidence *= CONSTRAINT_PENALTY
                candidate.notes.append(f"place {place} missing")
        if query.years and query.places and not self._bound(unit.text, query):
            confidence *= CONSTRAINT_PENALTY
            candidate.notes.append("year and place apart")
        candidate.answer = compose(unit, query)
        shown = normalise(candidate.answer)
        cue_share = cues_met(shown, query) / len(query.cues) if query.cues else 0.0
        if query.cues and not cue_share:
            confidence *= CUE_MISSED
            candidate.notes.append("cue missed")
        candidate.confidence = confidence
        candidate.evidence = evidence
        # Among equally confident candidates prefer the one whose own text holds the words, whose
        # answer meets the question's cue and holds the words close together, that is asked for in
        # those words, that is curated, or that opens its article (news leads summarise).
        candidate.rank = (confidence + 0.3 * (in_unit / total if total else 0.0) + 0.1 * cue_share
                          + 0.2 * focus((candidate.answer,), query) + 0.15 * similarity
                          + (0.03 if unit.kind == "entry" else 0.0) + (0.02 if unit.key.endswith("#0") else 0.0))

    def _bound(self, text: str, query: Query) -> bool:
        """A year asked together with a place must not be written next to another place in the
        unit: "益阳市2022年…" does not answer "2022年湖南省…" even if 湖南 is named elsewhere."""
        stems = [place.rstrip("省市县区") for place in query.places]
        verdicts = []
        for year in query.years:
            for match in re.finditer(year, text):
                near = text[max(0, match.start() - BINDING_DISTANCE) : match.end() + BINDING_DISTANCE]
                if any(stem in near for stem in stems):
                    return True
                verdicts.append(not self._other_places(near, query))
        return all(verdicts)

    def _other_places(self, text: str, query: Query) -> bool:
        """Whether a passage names a place (with its 省/市/县) that the question does not."""
        asked = {place.rstrip("省市县区") for place in query.places}
        places = self.analyzer.places
        for suffix in _ADMIN_SUFFIX.finditer(text):
            end = suffix.start()
            for stem in (text[max(0, end - 2) : end], text[max(0, end - 3) : end]):
                if len(stem) >= 2 and stem in places and stem not in asked:
                    return True
        return False

    def candidates(self, query: Query) -> list[Candidate]:
        ranked = self.index.score(query.bm25_terms, CANDIDATES, self.impact_limit)
        if not ranked:
            return []
        top = ranked[0][1] or 1.0
        found = [Candidate(self.index.units[number], score / top) for number, score in ranked]
        for candidate in found:
            self._assess(candidate, query)
            candidate.rank += 0.05 * candidate.bm25
        found.sort(key=lambda c: c.rank, reverse=True)
        return found

    # --- answering ----------------------------------------------------------------------------
    def ask(self, question: str) -> Answer:
        question = clean_control(question or "")
        if not question.strip():
            return Answer(False, strings.EMPTY_QUESTION, 0, suggestions=strings.DEFAULT_SUGGESTIONS,
                          reason="empty")
        query = self.analyzer.analyse(question)
        if not query.words:
            return self._localise(question, Answer(False, strings.NO_CONTENT, 0,
                                                   suggestions=strings.DEFAULT_SUGGESTIONS, reason="empty"))
        found = self.candidates(query)
        best = found[0] if found else None
        if best is None or best.confidence < SUGGEST_AT:
            # Weak candidates make poor suggestions; offer questions we know we answer well.
            reply = Answer(False, strings.UNKNOWN, round(100 * best.confidence) if best else 0,
                           suggestions=strings.DEFAULT_SUGGESTIONS, reason="unknown")
            return self._localise(question, reply)
        if best.confidence < ANSWER_AT or best.evidence < MIN_EVIDENCE:
            reply = Answer(False, strings.UNSURE, round(100 * best.confidence),
                           suggestions=self._suggestions(found, exclude=None), reason="unsure")
            return self._localise(question, reply)
        text = best.answer
        rivals = [c for c in found[1:] if c.rank >= best.rank - NEAR_TIE and c.confidence >= ANSWER_AT]
        reply = Answer(True, text, min(100, round(100 * best.confidence)), (best.unit.source,),
                       self._suggestions(rivals, exclude=best.unit) if rivals else ())
        return self._localise(question, reply)

    def guesses(self, question: str, limit: int = 3) -> list[tuple[str, str]]:
        """The curated entries closest to a question, even below the answer threshold: what an admin
        may attach an unanswered question to. (entry id, title) pairs, best first."""
        query = self.analyzer.analyse(clean_control(question or ""))
        found = [c.unit for c in self.candidates(query) if c.unit.kind == "entry"] if query.words else []
        return [(unit.key, unit.title) for unit in found[:limit]]

    def _suggestions(self, found: list[Candidate], exclude: Unit | None, limit: int = 3) -> tuple[str, ...]:
        titles: list[str] = []
        for candidate in found:
            unit = candidate.unit
            if exclude is not None and (unit.key == exclude.key or unit.title == exclude.title):
                continue
            label = unit.label
            if label and label not in titles:
                titles.append(label)
            if len(titles) == limit:
                break
        return tuple(titles)

    @staticmethod
    def _localise(question: str, answer: Answer) -> Answer:
        if not is_traditional(question):
            return answer
        sources = tuple(
            Source(to_traditional(s.title), to_traditional(s.origin), s.date, s.url, s.article) for s in answer.sources
        )
        return Answer(answer.matched, in_script_of(question, answer.answer), answer.score, sources,
                      tuple(to_traditional(s) for s in answer.suggestions), answer.reason)
