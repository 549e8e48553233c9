"""Turns a scraped page into clean article text: title, date, origin and paragraphs.

Real pages carry pinyin notes glued into words, site navigation, copyright blocks, share buttons,
spam link farms and mojibake. Each kind of noise has one small rule here; rules look at a single
line so that a page from another site degrades gracefully instead of losing its body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.text import TONE_VOWELS, display_form

_NOTE = rf"[(（][a-zü]*[{TONE_VOWELS}][a-zü]*[)）]"
_CJK = "\u3400-\u9fff"

# Mojibake left where a page was converted through the wrong code page: a '?' for the lost byte, then
# garbage up to the next character the converter annotated with pinyin (the garbage ate its original).
# The lost byte sometimes takes the note's opening bracket with it: "?!比蝿?wù)".
_BROKEN_NOTE = rf"[(（]?[a-zü]*[{TONE_VOWELS}][a-zü]*[)）]"
_GARBAGE_TO_NOTE = re.compile(
    rf"\?[^\s?]?[^\s?,，]{{0,11}}?(?:(?<![{_CJK}]){_NOTE}|\?{_BROKEN_NOTE}|(?=[{_CJK}]{_NOTE}))"
)
# Or the '?' is followed at once by the orphaned note and some non-Chinese debris: "?yún)⒃u範圍".
_NOTE_DEBRIS = re.compile(rf"\?{_BROKEN_NOTE}[^{_CJK}\s,，。]*")
_QUESTION_RUN = re.compile(r"\?{2,}")
_QUESTION_BEFORE_SPACE = re.compile(rf"(?<=[{_CJK}])\?(?=[ \t\u3000]+[{_CJK}])")
_QUESTION_BETWEEN_HAN = re.compile(rf"(?<=[{_CJK}])\?(?=[{_CJK}])")
_LATIN1_UTF8 = re.compile("[\u00c2-\u00ef][\u0080-\u00bf]")

_URL = re.compile(r"https?://[^\s\"'<>，。)）]+")
_FULL_DATE = re.compile(r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YEAR = re.compile(r"((?:19|20)\d\d)年")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日")
_DATE_LABEL = re.compile(r"(发布时间|发布日期|发表时间|更新时间|时间|日期)\s*[:：]")
_SOURCE_LABEL = re.compile(r"(?:信息)?来源\s*[:：]\s*([^\s:：]{2,30})")
_NEWS_AGENCY = re.compile(r"^[(（]?([\u4e00-\u9fff]{2,12}网)讯")
_COPYRIGHT_OWNER = re.compile(r"^(.{2,20}?)(?:网站)?版权(?:与|和|及)?(?:免责|免费)?声明")
_BREADCRUMB = re.compile(r"(>.*>)|^(您)?当前(的)?位置")
_SENTENCE_END = re.compile(r"[。!?；;]")

_BOILERPLATE_WORDS = (
    "版权", "免责声明", "免费声明", "转载", "分享到", "会员", "登录", "登陆", "注册", "找回密码",
    "完善信息", "点击查看", "征订通知", "下一页", "上一页", "责任编辑", "新闻纠错", "浏览:", "打印本页",
    "关闭窗口", "扫一扫", "字号", "返回顶部", "网站首页", "收藏本站", "设为首页", "门户网站", "联系我们",
)
_SPAM_WORDS = (
    "亚洲", "无码", "精品", "国产", "视频", "一区", "二区", "中文字幕", "在线观看", "免费看", "卡一",
    "狠狠", "激情", "性爱", "丝袜", "自拍", "人妻", "午夜", "久久", "成人", "色情", "国语", "一级",
)
# A sentence is a run without 。!? plus its terminator; one with a promo word is dropped whole. Matched as
# "every sentence, then test each" rather than one regex with the word between two [^。!?]* runs: that
# regex restarts at every character of a long sentence without the word, quadratic on hostile pages.
_SENTENCE = re.compile(r"[^。!?]*[。!?]?")
_PROMO_WORD = re.compile(r"小编|仅供参考|本网|点击进入|更多精彩")
_SHORT_LINE = 60


@dataclass(frozen=True)
class CleanedPage:
    title: str
    date: str | None
    origin: str
    url: str | None
    paragraphs: tuple[str, ...]
    dropped_lines: int


def repair_mojibake(line: str) -> str:
    """Removes code-page garbage and repairs UTF-8 that was read as Latin-1."""
    if len(_LATIN1_UTF8.findall(line)) >= 2:
        for codec in ("cp1252", "latin-1"):
            try:
                line = line.encode(codec).decode("utf-8")
                break
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
    line = line.replace("\ufffd", "")
    line = _QUESTION_RUN.sub(" ", line)
    line = _GARBAGE_TO_NOTE.sub("", line)
    line = _NOTE_DEBRIS.sub("", line)
    line = _QUESTION_BEFORE_SPACE.sub(" ", line)
    return _QUESTION_BETWEEN_HAN.sub("", line)


def is_spam(line: str) -> bool:
    hits = sum(1 for word in _SPAM_WORDS if word in line)
    return hits >= 2 or (hits >= 1 and line.count("|") >= 2)


def is_boilerplate(line: str) -> bool:
    """Navigation, copyright, share and account blocks, photo credits, bare numbers."""
    if not re.search(r"[\w\u4e00-\u9fff]", line):
        return True  # separators such as "-----" or lone punctuation
    if re.fullmatch(r"[\d\s\W_a-zA-Z]*", line) and not re.search(r"[\u4e00-\u9fff]", line):
        return True  # bare numbers, counters, codes
    if line[0] in "①②③④⑤⑥⑦⑧⑨⑩" and ("本网" in line or "版权" in line or "转载" in line):
        return True
    if _BREADCRUMB.search(line) and len(line) < 120:
        return True
    if len(_URL.sub("", line)) < _SHORT_LINE:
        if any(word in line for word in _BOILERPLATE_WORDS):
            return True
        if _URL.search(line) and len(_URL.sub("", line).strip()) < 25:
            return True
        if len(line) <= 15 and line.endswith("摄"):
            return True  # photo credit
        if _DATE_LABEL.search(line) or _SOURCE_LABEL.search(line) or line.startswith("作者"):
            return True  # metadata line, read by _metadata before it is dropped
        if line.endswith((":", "：")) and len(line) < 15:
            return True  # salutation such as "同志们:"
    return False


def _strip_promo(paragraph: str) -> str:
    if not _PROMO_WORD.search(paragraph):
        return paragraph.strip()
    return "".join(s for s in _SENTENCE.findall(paragraph) if not _PROMO_WORD.search(s)).strip()


def _is_headline(line: str) -> bool:
    return 4 <= len(line) <= 60 and not _SENTENCE_END.search(line) and not line.endswith(",")


def _site_name(line: str) -> str | None:
    if match := _COPYRIGHT_OWNER.match(line):
        return match.group(1)
    name = _URL.sub("", line).strip(" :：-—") if _URL.search(line) else ""
    if 2 <= len(name) <= 20 and "来源" not in name and not _FULL_DATE.search(name):
        return name
    return None


def _metadata(lines: list[str]) -> tuple[str | None, str | None, list[str], str | None]:
    """Reads date, publisher, site names and a URL from header, footer and metadata lines."""
    date = publisher = url = None
    sites: list[str] = []
    for line in lines:
        if date is None and (match := _FULL_DATE.search(line)) and (
            _DATE_LABEL.search(line) or len(_URL.sub("", line)) < _SHORT_LINE
        ):
            year, month, day = (int(part) for part in match.groups())
            if 1 <= month <= 12 and 1 <= day <= 31:
                date = f"{year:04d}-{month:02d}-{day:02d}"
        if publisher is None and (match := _SOURCE_LABEL.search(line)) and len(line) < 120 and "本网" not in line:
            value = match.group(1)
            if not value.startswith("http"):
                publisher = value
        if url is None and (found := _URL.search(line)) and len(line) < 120:
            url = found.group(0)
        if site := _site_name(line):
            sites.append(site)
        if (match := _BREADCRUMB.search(line)) and ">" in line:
            first = line.split(">")[0].strip()
            if first and "位置" not in first and "首页" not in first:
                sites.append(first)
    return date, publisher, sites, url


def _date_from_body(text: str) -> str | None:
    """An event date written as 'M月D日 … YYYY年' in one of the opening sentences."""
    for sentence in _SENTENCE_END.split(text, maxsplit=3)[:3]:
        year, month_day = _YEAR.search(sentence), _MONTH_DAY.search(sentence)
        if year and month_day:
            month, day = int(month_day.group(1)), int(month_day.group(2))
            if 1 <= month <= 12 and 1 <= day <= 31:
                return f"{int(year.group(1)):04d}-{month:02d}-{day:02d}"
    return None


def _title_from_body(text: str) -> str:
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    first = re.sub(r"^\d{1,2}月\d{1,2}日\s*[,，]\s*", "", first)
    return first[:60]


def clean_page(raw: str, name: str) -> CleanedPage:
    """Cleans one scraped page. `name` (the file name) is the origin of last resort."""
    lines = [display_form(repair_mojibake(line)) for line in raw.splitlines()]
    lines = [line for line in lines if line]
    total = len(lines)
    date, publisher, sites, url = _metadata(lines)
    # Everything above a breadcrumb near the top is the site's masthead.
    for position, line in enumerate(lines[:10]):
        if _BREADCRUMB.search(line) and len(line) < 120:
            lines = lines[position:]
            break
    kept = [line for line in lines if not is_boilerplate(line) and not is_spam(line)]

    headlines: list[str] = []
    body_start = 0
    for body_start, line in enumerate(kept):  # noqa: B007 - the index is used after the loop
        if not _is_headline(line):
            break
        headlines.append(line)
    else:
        body_start = len(kept)
    body = [_strip_promo(line) for line in kept[body_start:]]
    # Short lines without a full stop are sub-headings ("讲话(一)"); the title already names the page.
    body = [line for line in body if len(line) >= 25 or _SENTENCE_END.search(line)]

    title = max(headlines, key=len) if headlines else (_title_from_body(body[0]) if body else "")
    body = [line for line in body if line != title]
    if body:
        if agency := _NEWS_AGENCY.match(body[0]):
            sites.append(agency.group(1))
        date = date or _date_from_body(body[0])
    origin = sites[0] if sites else ""
    if publisher and publisher != origin:
        origin = f"{origin}（来源：{publisher}）" if origin else publisher
    if not origin and url:
        origin = urlparse(url).netloc
    return CleanedPage(
        title=title,
        date=date,
        origin=origin or name,
        url=url,
        paragraphs=tuple(body),
        dropped_lines=total - len(body),
    )
