"""Deterministic knowledge sets of a given number of search units (passages), built from the shipped knowledge.

A set is the shipped knowledge copied byte for byte (every YAML file and all five raw pages) plus generated raw
pages written as real files, so that `load_folder` and the page cleaning run exactly as in production.

A generated page recombines sentences of the shipped pages and entries. Every shipped province and city in a
sentence is swapped for one the shipped knowledge never names (consistently within a page), and in such a
sentence years are shifted and figures (counts, amounts, days) changed. A sentence that names no place is said of
the page's own city (「据阳江消息，…」), and one that names no year is dated with the page's year (「2014年，…」),
and changed the same way, so no sentence is copied unchanged: every generated sentence is a near miss of a
shipped one or of other generated ones (the same event in another year or place, the same figure in another
city), never a copy of a right answer. No two pages say the same sentence of the same place and year with
different figures (a page draws again instead), so every generated question, which names its place and year, has
one right answer among its near misses. Numbers inside 《document titles》 are never touched, so no generated
sentence contradicts a shipped fact: a question about a shipped fact still has exactly one right answer. Months
stay as they are (the Quality Month is September everywhere).

Page i depends only on the seed and the pages before it, so the smaller sets are prefixes of the larger ones,
and the generated questions (drawn from the first pages) are the same at every size.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bench.scale.places import CITIES, PROVINCES
from bot.answers.units import PASSAGE_CHARS, build_units, split_sentences
from bot.knowledge.loader import load_folder, read_folder
from bot.knowledge.model import Snapshot
from bot.text import display_form

SEED = 20_240_611
ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"
CACHE = ROOT / "bench" / ".cache" / "scale"
QUESTION_PAGES = 60  # generated questions come from pages 0..59, present in every set of 1,000 units or more
GENERATED_QUESTIONS = 100
TOLERANCE = 0.05
DRAWS = 30  # a page draws at most this many pool sentences for one slot before it accepts a repeat
REPEATS = [0]

_NUMBER = re.compile(r"(?<![0-9A-Za-z.])\d+(?:\.\d+)?(?![0-9A-Za-z])")
_YEAR = re.compile(r"(?:19|20)\d\d年")
_TITLE_SPAN = re.compile(r"《[^》]*》")
_YEAR_LINK = "-—–~至到"
_CLASSIFIERS = "个家人名份项次场台件条种所万亿元余多座批户"
_SENTENCE_END = re.compile(r"[。!?;！？；]")
_CLAUSE = re.compile(r"[^,，；;：:]+")


@dataclass
class Pool:
    """What generated pages are made of: shipped sentences and titles, and the places found in them."""

    sentences: list[str]
    titles: list[str]
    place_pattern: re.Pattern[str]
    shipped_provinces: frozenset[str]
    new_provinces: list[str]
    new_cities: list[str]


@dataclass
class Fact:
    """A swapped figure in a generated sentence: the material of one generated question."""

    page: int
    sentence: str
    figure: str
    places: list[str]
    years: list[str]
    source: int = -1  # which pool sentence it was made from


@dataclass
class Page:
    number: int
    text: str
    passages: int
    facts: list[Fact] = field(default_factory=list)


def _ordered_unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _with_end(sentence: str) -> str:
    return sentence if _SENTENCE_END.search(sentence[-2:]) else sentence + "。"


def build_pool(snapshot: Snapshot) -> Pool:
    raw: list[str] = []
    for article in snapshot.articles:
        for paragraph in article.paragraphs:
            raw.extend(split_sentences(paragraph))
    titles = [article.title for article in snapshot.articles]
    for entry in snapshot.entries:
        for text in (entry.answer, *entry.details.splitlines()):
            raw.extend(split_sentences(display_form(text)))
        titles.extend((entry.title, entry.source.title))
    sentences = _ordered_unique([_with_end(display_form(s)) for s in raw if len(s) >= 8])
    titles = _ordered_unique([
        display_form(t) for t in titles
        if 6 <= len(display_form(t)) <= 60 and not _SENTENCE_END.search(t) and not t.endswith((",", "，"))
    ])
    shipped_text = " ".join(sentences + titles)
    found = [place for place in (*PROVINCES, *CITIES) if place in shipped_text]
    pattern = re.compile("|".join(sorted(found, key=len, reverse=True)))
    return Pool(
        sentences=sentences,
        titles=[t for t in titles if pattern.search(t)],
        place_pattern=pattern,
        shipped_provinces=frozenset(p for p in found if p in PROVINCES),
        new_provinces=[p for p in PROVINCES if p not in found],
        new_cities=[c for c in CITIES if c not in found],
    )


class Swapper:
    """One page's consistent substitutions: shipped place -> new place, year -> shifted year, figure -> figure."""

    def __init__(self, rng: random.Random, pool: Pool) -> None:
        self.rng = rng
        self.pool = pool
        self.places: dict[str, str] = {}
        self.shift = rng.choice([shift for shift in range(-8, 9) if shift])
        self.year = rng.randint(2005, 2025)  # the page's year, for sentences that name none
        self.figures: dict[str, str] = {}
        self.home = rng.choice(pool.new_cities)  # the page's city, for sentences that name no place

    def place(self, name: str) -> str:
        if name not in self.places:
            choices = self.pool.new_provinces if name in self.pool.shipped_provinces else self.pool.new_cities
            unused = [c for c in choices if c not in self.places.values()] or choices
            self.places[name] = self.rng.choice(unused)
        return self.places[name]

    def _figure(self, digits: str) -> str:
        if digits not in self.figures:
            whole, _, fraction = digits.partition(".")
            low = 10 ** (len(whole) - 1) if len(whole) > 1 else 1
            value = digits
            while value == digits:
                value = str(self.rng.randint(low, 10 ** len(whole) - 1))
                if fraction:
                    value += "." + "".join(str(self.rng.randint(0, 9)) for _ in fraction)
            self.figures[digits] = value
        return self.figures[digits]

    def _number(self, text: str, match: re.Match[str], found: list[tuple[str, str]]) -> str:
        digits = match.group(0)
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        is_year = re.fullmatch(r"(?:19|20)\d\d", digits) and (
            after == "年" or after in _YEAR_LINK or before in _YEAR_LINK
        )
        if is_year:
            return str(int(digits) + self.shift)
        if after == "月":
            return digits
        if after == "日":
            return str(self.rng.randint(1, 28))
        new = self._figure(digits)
        if after and after in _CLASSIFIERS:
            found.append((new, after))
        return new

    def sentence(self, text: str) -> tuple[str, list[str]]:
        """The sentence with its places (and then its years and figures) swapped; and the new figures."""
        if not self.pool.place_pattern.search(text):
            text = f"据{self.home}消息，{text}"
        text = self.pool.place_pattern.sub(lambda m: self.place(m.group(0)), text)
        figures: list[tuple[str, str]] = []
        parts: list[str] = []
        last = 0
        for span in [*_TITLE_SPAN.finditer(text), None]:
            end = span.start() if span else len(text)
            segment = text[last:end]
            parts.append(_NUMBER.sub(lambda m, s=segment: self._number(s, m, figures), segment))
            if span:
                parts.append(span.group(0))
                last = span.end()
        text = "".join(parts)
        if not _YEAR.search(text):
            text = f"{self.year}年，{text}"
        return text, [figure for figure, _ in figures]


def _claims(source: int, sentence: str, places: list[str]) -> set[tuple[int, str, str]]:
    """What a generated sentence says a figure of: its pool sentence, for each of its places and years."""
    years = re.findall(r"((?:19|20)\d\d)年", sentence) or [""]
    return {(source, place, year) for place in places for year in years}


def make_page(number: int, pool: Pool, passages: int | None = None,
              taken: set[tuple[int, str, str]] | None = None) -> Page:
    """Generated page `number`: a masthead, breadcrumb, title, 发布时间 line and about ten ~200-character
    paragraphs, each of which the unit splitter keeps as one passage.

    `taken` holds what earlier pages already said (pool sentence, place, year): a sentence that would say it
    again, with another figure, is drawn anew, so that every fact has one right answer — other pages hold its
    near misses (the same sentence of another place or year), not contradictions. Pages are made in order, so
    page i still depends only on the seed and the pages before it."""
    rng = random.Random(f"{SEED}:page:{number}")
    swapper = Swapper(rng, pool)
    wanted = rng.randint(8, 12)
    if passages is not None:
        wanted = min(wanted, passages)
    title, _ = swapper.sentence(rng.choice(pool.titles))
    facts: list[Fact] = []
    paragraphs: list[str] = []
    current: list[str] = []
    size = 0
    limit = rng.randint(120, PASSAGE_CHARS)
    while len(paragraphs) < wanted:
        for _ in range(DRAWS):
            index = rng.randrange(len(pool.sentences))
            source = pool.sentences[index]
            sentence, figures = swapper.sentence(source)
            places = [swapper.places[p] for p in dict.fromkeys(pool.place_pattern.findall(source))] or [swapper.home]
            claims = _claims(index, sentence, places)
            if taken is None or not claims & taken:
                break
        else:
            REPEATS[0] += 1
        if taken is not None:
            taken |= claims
        if current and size + len(sentence) > PASSAGE_CHARS:
            paragraphs.append("".join(current))
            current, size, limit = [], 0, rng.randint(120, PASSAGE_CHARS)
            if len(paragraphs) == wanted:
                break
        current.append(sentence)
        size += len(sentence)
        if figures:
            years = re.findall(r"((?:19|20)\d\d)年", sentence)
            facts.extend(Fact(number, sentence, figure, places, years, index) for figure in figures)
        if size >= limit:
            paragraphs.append("".join(current))
            current, size, limit = [], 0, rng.randint(120, PASSAGE_CHARS)
    years = re.findall(r"(?:19|20)\d\d", title) or [str(rng.randint(2012, 2023))]
    date = f"{years[0]}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    city = next(iter(swapper.places.values()), None) or swapper.home
    lines = [
        f"{city}质量网——质量强市门户网站",
        "您当前的位置: 首页 > 新闻 > 质量动态",
        title,
        f"发布时间:{date} 作者: 来源:{city}市市场监督管理局 浏览:{rng.randint(100, 9999)}",
        *(f"  {paragraph}" for paragraph in paragraphs),
        "分享到:",
    ]
    return Page(number, "\n".join(lines) + "\n", len(paragraphs), facts)


def make_questions(pool: Pool) -> list[dict]:
    """GENERATED_QUESTIONS fact questions about swapped figures on the first QUESTION_PAGES pages."""
    taken: set[tuple[int, str, str]] = set()
    facts = [fact for number in range(QUESTION_PAGES) for fact in make_page(number, pool, taken=taken).facts]
    rng = random.Random(f"{SEED}:questions")
    questions: list[dict] = []
    seen: set[str] = set()
    for fact in rng.sample(facts, len(facts)):
        figure = re.compile(rf"(?<![0-9.]){re.escape(fact.figure)}(?![0-9.])[多余]?")
        clause = next((c for c in _CLAUSE.findall(fact.sentence) if figure.search(c)), "")
        match = figure.search(clause)
        if not match:
            continue
        tail = re.match(r"[^、,，;；。!?！？()（）“”]{0,6}", clause[match.end():])
        text = clause[max(0, match.start() - 24):match.start()] + "多少" + (tail.group(0) if tail else "")
        text = text.strip()
        if fact.places and not any(place in text for place in fact.places):
            text = fact.places[0] + text
        if fact.years and fact.years[0] not in text:
            text = f"{fact.years[0]}年{text}"
        if text in seen or len(text) < 8:
            continue
        seen.add(text)
        questions.append({"id": f"g{len(questions) + 1:03d}", "q": text, "kind": "fact", "expect": [[fact.figure]],
                          "page": fact.page, "source": fact.source, "places": fact.places,
                          "years": re.findall(r"((?:19|20)\d\d)年", text)})
        if len(questions) == GENERATED_QUESTIONS:
            break
    return questions


def mark_answerable(questions: list[dict], facts: list[Fact]) -> None:
    """Marks each question `answerable` in a set whose pages made `facts`: no other page says the same
    sentence of the same place with another figure, unless the question names a year that sentence
    does not. Near misses are the point of the set, but a question that names neither the year nor
    anything else that tells two such pages apart has no single right answer: its scorer's expected
    figure is one of several the knowledge gives. Decided from the pages alone, never from answers."""
    by_source: dict[int, list[Fact]] = {}
    for fact in facts:
        by_source.setdefault(fact.source, []).append(fact)
    for question in questions:
        places, years = set(question["places"]), set(question["years"])
        question["answerable"] = not any(
            other.page != question["page"] and other.figure != question["expect"][0][0]
            and places & set(other.places) and (not years or years & set(other.years))
            for other in by_source.get(question["source"], ()))


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (Path(__file__), Path(__file__).with_name("places.py"), ROOT / "bot" / "answers" / "units.py"):
        digest.update(path.read_bytes())
    for name, data in sorted(read_folder(KNOWLEDGE).items()):
        digest.update(name.encode() + b"\0" + data)
    return digest.hexdigest()[:10]


def shipped_units() -> int:
    units, _ = build_units(load_folder(KNOWLEDGE).snapshot)
    return len(units)


def dataset(size: int, log=print) -> tuple[Path, dict]:
    """The knowledge folder of a set of `size` units (generated on first use, then cached) and its manifest."""
    folder = CACHE / f"{size}-{fingerprint()}"
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        return folder / "knowledge", json.loads(manifest_path.read_text(encoding="utf-8"))
    for stale in CACHE.glob(f"{size}-*"):
        shutil.rmtree(stale)
    shipped = load_folder(KNOWLEDGE).snapshot
    pool = build_pool(shipped)
    have = len(build_units(shipped)[0])
    target = folder / "knowledge"
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    for name, data in read_folder(KNOWLEDGE).items():
        path = tmp / "knowledge" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    articles = tmp / "knowledge" / "articles"
    number = 0
    facts: list[Fact] = []
    taken: set[tuple[int, str, str]] = set()
    while have < size:
        page = make_page(number, pool, passages=size - have, taken=taken)
        facts.extend(page.facts)
        (articles / f"gen_{number:06d}.txt").write_text(page.text, encoding="utf-8")
        have += page.passages
        number += 1
    result = load_folder(tmp / "knowledge")
    units = len(build_units(result.snapshot)[0])
    if result.problems:
        raise RuntimeError(f"generated set of {size} has problems: {result.problems[:3]}")
    if abs(units - size) > TOLERANCE * size:
        raise RuntimeError(f"generated set of {size} has {units} units, more than {TOLERANCE:.0%} off")
    questions = make_questions(pool)
    mark_answerable(questions, facts)
    manifest = {
        "size": size, "units": units, "pages": number, "entries": len(result.snapshot.entries),
        "articles": len(result.snapshot.articles), "seed": SEED, "questions": questions,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.rename(folder)
    log(f"generated {size}: {number} pages, {units} units ({units / size - 1:+.1%}) in {folder.relative_to(ROOT)}")
    return target, manifest
