"""Slots: the year(s) and place(s) a text is about, read the same way from pages and from questions.

Places come from China's administrative divisions as shipped by the `cpca` package (its adcode
table: provinces, cities, counties), matched in one Aho-Corasick pass, so reading a page is linear in
its length. Years are written years (2017年, 二〇一七年) and relative ones (今年, 去年, 本届…), which
are resolved against a reference year: the page's own date for a page, today's date for a question.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick
import cn2an
import jieba
from pypinyin import lazy_pinyin

NATIONAL = "全国"
LEVELS = ("national", "province", "city", "county")
LEVEL_NAMES = {"national": "全国", "province": "省级", "city": "市级", "county": "县级"}
# Words that put a text at national level when it names no narrower place.
NATIONAL_MARKERS = ("全国", "我国", "国家", "中国", "国务院", "中共中央", "总局")
_PROVINCE_SUFFIX = re.compile("(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_CITY_SUFFIX = re.compile("(市|地区|盟|(?:[\u4e00-\u9fff]{1,8}族)+自治州|自治州)$")
_PROPER_TAGS = {"ns", "nz", "nr", "nt"}
# Prefecture-level cities whose short name is mostly an ordinary word in the texts we read (各位来宾,
# 长治久安, 阿里巴巴, 世界大同, 日照时间): written in full (来宾市) they are still found. Other cities'
# short names are places however jieba's dictionary tags them (合肥 n, 大连 d, 开封 v).
COMMON_WORD_CITIES = frozenset({"来宾", "长治", "阿里", "大同", "日照"})
_DIVISION_NAME = re.compile("^(?!市辖区$|县$).*[省市县区州盟旗]$|行政区$")
_WRITTEN_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?![\d.])")
_CHINESE_YEAR = re.compile("([〇零一二三四五六七八九]{4})(?=年)")
# A relative year word and its offset from the reference year.
RELATIVE_YEARS = {"今年": 0, "本年度": 0, "本年": 0, "本届": 0, "这一届": 0, "当年": 0, "去年": -1,
                  "上一年": -1, "上届": -1, "上一届": -1, "前年": -2, "明年": 1, "下一届": 1, "下届": 1,
                  "后年": 2}
_RELATIVE = re.compile("|".join(sorted(RELATIVE_YEARS, key=len, reverse=True)))


@dataclass(frozen=True)
class Place:
    code: str  # six-digit administrative division code
    name: str  # full name: 湖南省, 郴州市, 忠县
    level: str  # province | city | county

    @property
    def short(self) -> str:
        """The name as people say it: 湖南, 郴州 (a county keeps its 县/区)."""
        if self.level == "province":
            return _PROVINCE_SUFFIX.sub("", self.name) or self.name
        if self.level == "city":
            stem = _CITY_SUFFIX.sub("", self.name)
            return stem if len(stem) >= 2 else self.name
        return self.name

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    def within(self, other: Place) -> bool:
        """True when this place is `other` or lies inside it (郴州 within 湖南)."""
        if other.level == "province":
            return self.code[:2] == other.code[:2]
        if other.level == "city":
            return self.code[:4] == other.code[:4]
        return self.code == other.code


def _cpca_table() -> str:
    """The adcode table shipped inside the cpca package, read without importing cpca (which would
    pull in pandas): only its data is used."""
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cpca package (China's administrative divisions) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return (folder / "resources" / "adcodes.csv").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def dictionary_tags() -> dict[str, str]:
    """Part-of-speech tags of jieba's dictionary, read once. Used for two things: a city's short
    name that is also a common word (大同, 来宾) is a place only when written in full (大同市), and a
    question's adverbs, pronouns and particles (大概, 哪些, 的) carry no topic."""
    tags: dict[str, str] = {}
    path = Path(jieba.__file__).with_name("dict.txt")
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3:
                tags[parts[0]] = parts[2]
    return tags


class Gazetteer:
    """Finds places in text. Build once per process with `Gazetteer.shared()`."""

    def __init__(self, rows: Iterable[tuple[str, str]]) -> None:
        self.places: list[Place] = []
        by_form: dict[str, list[int]] = {}
        tags = dictionary_tags()
        for code, name in rows:
            if len(name) < 2 or not _DIVISION_NAME.search(name):
                continue  # table rows that are not names (市辖区, a bare 县)
            code = code[:6]
            level = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
            place = Place(code, name, level)
            number = len(self.places)
            self.places.append(place)
            forms = {name}
            short = place.short
            if short != name and len(short) >= 2 and (
                    level == "province" or tags.get(short, "ns") in _PROPER_TAGS
                    or (level == "city" and short not in COMMON_WORD_CITIES)):
                forms.add(short)
            for form in forms:
                by_form.setdefault(form, []).append(number)
        self.by_code = {place.code: place for place in self.places}
        self.forms = by_form
        self.automaton = ahocorasick.Automaton()
        for form, numbers in by_form.items():
            self.automaton.add_word(form, (form, tuple(numbers)))
        self.automaton.make_automaton()

    @classmethod
    @lru_cache(maxsize=1)
    def shared(cls) -> Gazetteer:
        reader = csv.DictReader(io.StringIO(_cpca_table()))
        return cls((row["adcode"], row["name"]) for row in reader)

    def find(self, text: str) -> list[Place]:
        """Places named in text, longest match first at each position, in order of appearance.
        A name written the same in several provinces (朝阳) yields each of them."""
        spans: list[tuple[int, int, tuple[int, ...]]] = []
        for end, (form, numbers) in self.automaton.iter(text):
            spans.append((end - len(form) + 1, end + 1, numbers))
        spans.sort(key=lambda span: (span[0], -(span[1] - span[0])))
        found: list[Place] = []
        seen: set[str] = set()
        covered_to = -1
        for start, end, numbers in spans:
            if start < covered_to:
                continue  # inside a longer name already taken (湖南 inside 湖南省)
            covered_to = end
            for number in numbers:
                place = self.places[number]
                if place.code not in seen:
                    seen.add(place.code)
                    found.append(place)
        return found

    @lru_cache(maxsize=8192)  # noqa: B019 - one shared gazetteer per process
    def places_in(self, text: str) -> tuple[Place, ...]:
        """`find`, remembered: answers are checked sentence by sentence, and the same sentences come
        back as candidates of question after question."""
        return tuple(self.find(text))

    def by_pinyin(self, typed: str) -> str | None:
        """A province or city whose short name reads as the typed pinyin (tianjin -> 天津)."""
        return self._pinyin_names().get(typed)

    @lru_cache(maxsize=1)  # noqa: B019 - one shared gazetteer per process
    def _pinyin_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for place in self.places:
            if place.level != "county":
                names.setdefault("".join(lazy_pinyin(place.short)), place.short)
        return names

    def province_of(self, place: Place) -> Place | None:
        return self.by_code.get(place.province_code)


def is_national(text: str) -> bool:
    return any(marker in text for marker in NATIONAL_MARKERS)


def written_years(text: str) -> set[int]:
    """Years written out: 2017, 2017年, 二〇一七年."""
    years = {int(match) for match in _WRITTEN_YEAR.findall(text)}
    for match in _CHINESE_YEAR.finditer(text):
        converted = cn2an.transform(match.group(1) + "年", "cn2an")
        years.update(int(found) for found in _WRITTEN_YEAR.findall(converted))
    return years


# 23年, 78年: a year written with two digits, as people type it. Not a span of years (近10年,
# 10年来, 10年内) and not a decade (80年代).
_SHORT_YEAR = re.compile(r"(?<![\d.近这几多每第过共满])(\d\d)(?=年(?![代来内间后前以多左]))")


def expand_short_years(text: str, reference: int) -> str:
    """23年 -> 2023年, 78年 -> 1978年: the nearest such year not after next year."""

    def expand(match: re.Match[str]) -> str:
        short = int(match.group(1))
        century = (reference + 1) // 100 * 100
        return str(century + short if century + short <= reference + 1 else century - 100 + short)

    return _SHORT_YEAR.sub(expand, text)


def relative_years(text: str, reference: int | None) -> set[int]:
    """今年/去年/本届… resolved against the reference year; nothing when there is none."""
    if reference is None:
        return set()
    return {reference + RELATIVE_YEARS[match] for match in _RELATIVE.findall(text)}


_ORDINAL = re.compile("第([一二两三四五六七八九十百零〇]+|\\d+)(届|次|批)")
_FIRST = re.compile("首(届|批)")  # 首届 is 第一届 (首次 is left alone: it mostly means "for the first time")


def ordinals(text: str) -> frozenset[tuple[int, str]]:
    """Which round of a recurring thing a text speaks of: 第三届 -> (3, 届), 第1批, 首批 -> (1, 批)."""
    found = {(1, measure) for measure in _FIRST.findall(text)}
    for number, measure in _ORDINAL.findall(text):
        try:
            found.add((int(number) if number.isdigit() else int(cn2an.cn2an(number, "smart")), measure))
        except ValueError:
            continue
    return frozenset(found)


def has_relative_year(text: str) -> bool:
    return bool(_RELATIVE.search(text))


def year_of(date: str | None) -> int | None:
    if date and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None
