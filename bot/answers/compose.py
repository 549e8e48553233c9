"""Cutting a short answer out of a unit: the one or two sentences that answer the question."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot import strings
from bot.answers.query import Query
from bot.answers.slots import Gazetteer
from bot.answers.units import Unit
from bot.text import normalise

Fold = Callable[[str], str]

MAX_ANSWER_CHARS = 500
LONG_SENTENCE = 220
CLAUSE_WINDOW = 180
SHORT_SENTENCE = 40
_CLAUSE = re.compile(r"[^,，]+[,，]?")

# What a sentence must hold for each kind of fact asked for to count as answered: the shapes of
# numbers, dates, names and titles in Chinese text, not words of any topic.
CUE_EVIDENCE: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"\d|[一二两三四五六七八九十百千万]+[个位家项名次年天月人场届份条种万]"),
    "day": re.compile(r"\d{1,2}月\d{1,2}日|[一二三四五六七八九十]+月[一二三四五六七八九十]+日"),
    "date": re.compile(r"\d{1,2}月|\d{4}|[一二三四五六七八九十]+月"),
    # A place: a division name (found with the gazetteer, see cue_met), an event held somewhere, or
    # a kind of venue.
    "place": re.compile(
        r"在[^，。；,;]{1,16}(举行|召开|开展|举办|拉开|签订|启动|开幕)|礼堂|会堂|会议中心|广场|体育馆|大厦|宾馆"),
    "person": re.compile(
        r"(局长|市长|省长|书记|教授|主任|同志|副市长|副局长|副校长|校长|专家|主编)[\u4e00-\u9fff]{2,3}|"
        r"[\u4e00-\u9fff]{2,3}(局长|市长|省长|书记|教授|主任|同志)|主持|宣布|颁布|印发|出台"
    ),
    "title": re.compile(r"《[^》]+》"),
    "theme": re.compile(r"“[^”]+”|\"[^\"]+\""),
    "organisation": re.compile(r"大学|学院|研究院|国务院|政府|[局委厅部办]|公司|集团|协会|中心"),
    # Three or more short items in one clause: "知识产权战略、标准化战略、品牌战略".
    "list": re.compile(
        r"[^、,，。;；]{1,14}、[^、,，。;；]{1,14}[、和及与][^、,，。;；]{1,14}|一是.*二是|[;；].*[;；]"
        r"|(“[^”]{1,14}”[、]?){3,}|(《[^》]{1,30}》[、]?){2,}"
    ),
}


def evidence(text: str, query: Query) -> float:
    """Weight of the query's words found in (normalised) text."""
    return sum(weight for word, weight in query.words.items() if query.found(word, text))


def cue_met(cue: str, text: str) -> bool:
    """Whether normalised text holds a fact of the kind a cue asks for."""
    if CUE_EVIDENCE[cue].search(text):
        return True
    return cue == "place" and bool(Gazetteer.shared().places_in(text))


def cues_met(text: str, query: Query) -> int:
    return sum(1 for cue in query.cues if cue_met(cue, text))


_RELATIVE_IN_PAGE = re.compile("(今年|去年|前年|明年|日前|近日|本届|当年)(?![（(]\\d)")


_PLACEHOLDER_YEAR = re.compile("(?:19|20)[xX×]{2}")


def date_relative_words(text: str, year: int | None) -> str:
    """A page's own 今年/日前 shown with the page's year, so an old page does not read as current;
    with no known year, said to be undated. A template page's 20xx placeholder is never shown."""
    offsets = {"去年": -1, "前年": -2, "明年": 1}

    def dated(match: re.Match[str]) -> str:
        word = match.group(1)
        if year is None:
            return strings.UNDATED_RELATIVE.format(word=word)
        return strings.DATED_RELATIVE.format(word=word, year=year + offsets.get(word, 0))

    return _PLACEHOLDER_YEAR.sub(strings.SOME_YEAR, _RELATIVE_IN_PAGE.sub(dated, text))


def _sentence_score(sentence: str, query: Query, fold: Fold = normalise) -> float:
    score = query.sentence_scores.get(sentence)  # the same sentences are scored to cut, trim and focus
    if score is None:
        text = fold(sentence)
        score = evidence(text, query) + 0.3 * query.total_weight * cues_met(text, query) / max(1, len(query.cues))
        query.sentence_scores[sentence] = score
    return score


def trim(sentence: str, query: Query, fold: Fold = normalise) -> str:
    """Keeps the clauses around the best-matching one when a sentence is too long to read in chat."""
    if len(sentence) <= LONG_SENTENCE:
        return sentence
    clauses = _CLAUSE.findall(sentence)
    scores = [_sentence_score(clause, query, fold) for clause in clauses]
    best = max(range(len(clauses)), key=lambda i: scores[i])
    start, end = best, best + 1
    size = len(clauses[best])
    while True:
        options = []
        if start > 0 and size + len(clauses[start - 1]) <= CLAUSE_WINDOW:
            options.append((scores[start - 1], -1))
        if end < len(clauses) and size + len(clauses[end]) <= CLAUSE_WINDOW:
            options.append((scores[end], 1))
        if not options:
            break
        _, side = max(options)
        if side < 0:
            start -= 1
            size += len(clauses[start])
        else:
            size += len(clauses[end])
            end += 1
    text = "".join(clauses[start:end]).rstrip(",，")
    prefix = "…" if start > 0 else ""
    suffix = "" if end == len(clauses) else "…"
    return prefix + text + suffix


def _as_is(text: str) -> str:
    return text


def focus(sentences: tuple[str, ...], query: Query, fold: Fold = normalise) -> float:
    """How tightly the question is answered in one place: the best pair of adjacent clauses,
    scored by the question words it holds plus its cue evidence, as a share of the question."""
    clauses = [fold(c) for sentence in sentences for c in _CLAUSE.findall(sentence)]
    if not clauses or not query.total_weight:
        return 0.0
    best = max(_sentence_score("".join(clauses[i : i + 2]), query, _as_is) for i in range(len(clauses)))
    return min(1.0, best / (1.3 * query.total_weight))


def _compose_entry(unit: Unit, query: Query) -> str:
    """An entry's answer, plus one detail sentence when it holds what the answer lacks."""
    answer = unit.sentences[0]
    if len(unit.sentences) == 1:
        return answer[:MAX_ANSWER_CHARS]
    found = normalise(answer)
    lacking = {cue for cue in query.cues if not cue_met(cue, found)}
    missing = {word: weight for word, weight in query.words.items() if not query.found(word, found)}
    if not (lacking or missing):
        return answer[:MAX_ANSWER_CHARS]

    def adds(sentence: str) -> float:
        text = normalise(sentence)
        gained = sum(weight for word, weight in missing.items() if query.found(word, text))
        met = sum(1 for cue in lacking if cue_met(cue, text))
        return gained + met * 0.5 * query.total_weight

    # Among details that add as much, the one holding more of the question and the kind of fact
    # asked for (a number for 几家) is the answering one.
    best = max(unit.sentences[1:], key=lambda sentence: (adds(sentence), _sentence_score(sentence, query)))
    if adds(best) <= 0:
        return answer[:MAX_ANSWER_CHARS]
    if len(answer) + len(best) >= MAX_ANSWER_CHARS:
        # A long detail sentence lists many facts; the clauses around the asked one are the answer.
        best = trim(best, query)
    if len(answer) + len(best) < MAX_ANSWER_CHARS:
        return f"{answer}{best}" if answer.endswith(("。", "！", "？", ".", "!", "?")) else f"{answer}。{best}"
    return answer[:MAX_ANSWER_CHARS]


def compose(unit: Unit, query: Query) -> str:
    """The answer text for a unit, at most MAX_ANSWER_CHARS characters."""
    if unit.kind == "entry":
        return _compose_entry(unit, query)
    sentences, fold = unit.sentences, unit.fold
    scores = [_sentence_score(sentence, query, fold) for sentence in sentences]
    best = max(range(len(sentences)), key=lambda i: scores[i])
    chosen = [best]
    found = fold(sentences[best])
    missing = [word for word in query.words if not query.found(word, found)]
    neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(sentences)]
    if neighbours and (missing or len(sentences[best]) < SHORT_SENTENCE):
        gain = {i: evidence(fold(sentences[i]), query) for i in neighbours}
        partner = max(neighbours, key=lambda i: gain[i])
        if gain[partner] > 0 or len(sentences[best]) < SHORT_SENTENCE:
            chosen.append(partner)
    parts = [trim(sentences[i], query, fold) for i in sorted(chosen)]
    text = "".join(parts)
    if len(text) > MAX_ANSWER_CHARS:
        text = trim(sentences[best], query, fold)[:MAX_ANSWER_CHARS]
    return text
