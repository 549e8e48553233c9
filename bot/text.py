"""Chinese text normalisation shared by knowledge loading and search.

Everything is matched in one canonical form: NFKC (full/half width folded), Simplified script,
lower case, pinyin notes removed, control characters dropped, whitespace collapsed.
Converters are created lazily on first use so that importing this module does no work.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
# A pinyin note glued after a character, as scraped pages carry them: 質(zhì)量, 強（qiáng）.
_PINYIN_NOTE = re.compile(
    rf"(?<=[\u3400-\u9fff\uf900-\ufaff?？])[(（]([a-zü]*[{TONE_VOWELS}][a-zü]*)[)）]"
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_SPACES = re.compile(r"\s+")
# Zero-width and bidi marks survive NFKC; they only ever hide differences between equal strings.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")

MAX_QUERY_CHARS = 500


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def strip_pinyin_notes(text: str) -> str:
    """Removes pinyin annotations glued into words: 質(zhì)量 -> 質量."""
    return _PINYIN_NOTE.sub("", text)


def to_simplified(text: str) -> str:
    # tw2s rather than t2s: it also settles variants scraped pages mix in (標志著 -> 标志着).
    return _converter("tw2s").convert(text)


TRADITIONAL_CONFIGS = ("s2t", "s2tw", "s2hk")  # OpenCC: standard, Taiwan and Hong Kong character forms


def to_traditional(text: str, config: str = "s2t") -> str:
    return _converter(config if config in TRADITIONAL_CONFIGS else "s2t").convert(text)


def warm_converters() -> None:
    """Opens every converter before the first message arrives: each takes 0.1 to 0.3 s (0.6 s in
    all), which the first message needing it (any message for s2t, the script check; the first
    Traditional one for s2tw and s2hk) would otherwise hold the event loop, and everyone, for."""
    for config in ("tw2s", *TRADITIONAL_CONFIGS):
        _converter(config)


@lru_cache(maxsize=4096)
def traditional_variant(text: str) -> str:
    """The OpenCC config whose character forms match the user's Traditional text best (啟 is Taiwan's
    form, 啓 the standard and Hong Kong one); the standard form on a tie. Kept per text (four OpenCC
    calls each; citizens repeat the common questions)."""
    simplified = to_simplified(text)

    def agreement(config: str) -> int:
        return sum(a == b for a, b in zip(to_traditional(simplified, config), text, strict=False))

    return max(TRADITIONAL_CONFIGS, key=agreement)


def clean_control(text: str) -> str:
    """Drops control and invisible characters, keeping line breaks and tabs as spaces."""
    text = _INVISIBLE.sub("", text)
    if text.isprintable():  # the common case, checked in C: nothing to drop
        return text
    return "".join(
        ch if unicodedata.category(ch)[0] != "C" else (" " if ch in "\n\r\t" else "") for ch in text
    )


def display_form(text: str) -> str:
    """Text as shown to users: width-folded, Simplified, pinyin notes and control chars removed."""
    text = unicodedata.normalize("NFKC", strip_pinyin_notes(text))
    text = clean_control(text)
    return _SPACES.sub(" ", to_simplified(text)).strip()


@lru_cache(maxsize=65_536)
def normalise(text: str) -> str:
    """The canonical matching form of any text (queries, passages, titles). Cached: the same
    sentences and titles are compared again and again as candidates of different questions."""
    return display_form(text).lower()


_HALF_PUNCT = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}
# Half-width punctuation touching a Chinese character (NFKC folds the pages' full-width marks).
_CJK_PUNCT = re.compile(rf"(?<=[{_CJK}”》）])([,:;?!])|([,:;?!])(?=[{_CJK}“《（])")
_CJK_PARENS = re.compile(rf"\(([^()]*[{_CJK}][^()]*)\)")


def typeset(text: str) -> str:
    """Chinese punctuation as the pages' publishers print it: 仪式上,南宁市 -> 仪式上，南宁市, and a
    title inside a title in single brackets: 《关于印发〈质量发展纲要〉的通知》."""
    text = _CJK_PUNCT.sub(lambda m: _HALF_PUNCT[m.group(1) or m.group(2)], text)
    text = _CJK_PARENS.sub(r"（\1）", text)
    if text.count("《") < 2:
        return text
    out, depth = [], 0
    for char in text:
        if char == "《":
            out.append("〈" if depth else char)
            depth += 1
        elif char == "》" and depth:
            depth -= 1
            out.append("〉" if depth else char)
        else:
            out.append(char)
    return "".join(out)
def has_han(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def is_traditional(text: str) -> bool:
    """True when the text is written in Traditional script (more T-only than S-only characters)."""
    han = set(_CJK_CHAR.findall(text[:MAX_QUERY_CHARS]))
    return sum(map(_script_of, han)) > 0


@lru_cache(maxsize=16384)
def _script_of(ch: str) -> int:
    """+1 for a Traditional-only character, -1 for a Simplified-only one, else 0. Kept per character:
    every incoming message is checked, and two OpenCC calls per character cost more than the lookup."""
    return int(to_simplified(ch) != ch) - int(to_traditional(ch) != ch)


def in_script_of(question: str, text: str) -> str:
    """Renders a Simplified answer in the script the user wrote the question in."""
    return to_traditional(text) if is_traditional(question) else text



def cjk_bigrams(text: str) -> list[str]:
    """Overlapping character pairs of every run of Chinese characters; single characters stand alone."""
    grams: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        grams.extend(map(str.__add__, run, run[1:]))  # run[i:i+2] for each i, without a Python loop
    return grams




def pinyin_initials(text: str) -> str:
    """First letters of each syllable: 质量月 -> zly."""
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore"))
