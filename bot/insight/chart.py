"""The /stats picture: four panels drawn with matplotlib (Agg, no display) in Noto Sans SC, a CJK font
installed with the project (pylopdf-fonts-zh-cn, SIL Open Font License), so Chinese renders as
characters, not boxes. matplotlib is imported on first use, never at import time."""

from __future__ import annotations

import functools
import io
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot import strings

from .series import Report

FONT_FAMILY = "Noto Sans SC"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DRAWING = threading.Lock()  # rc_context changes matplotlib's global settings: one chart at a time


class MissingGlyphs(RuntimeError):
    """The font could not draw some characters of the chart (they would show as boxes)."""


@functools.cache
def font_path() -> str:
    """The CJK font file, registered with matplotlib once."""
    from matplotlib import font_manager
    from pylopdf_fonts_zh_cn import sans_path

    path = str(sans_path())
    font_manager.fontManager.addfont(path)
    return path


def missing_glyphs(text: str) -> set[str]:
    """Characters of `text` (other than spaces) that the chart font has no glyph for."""
    charmap = _charmap()
    return {char for char in text if not char.isspace() and ord(char) not in charmap}


@dataclass(frozen=True)
class Chart:
    png: bytes
    series: dict[str, Any] = field(default_factory=dict)  # what was drawn, panel by panel


@functools.cache
def _charmap() -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_path()).get_charmap())


def drawable(text: str) -> str:
    """A citizen's text without the characters the font cannot draw (emoji, rare symbols)."""
    charmap = _charmap()
    return "".join(char for char in text if ord(char) in charmap or char == " ")


def _short(text: str, size: int = 16) -> str:
    text = drawable(" ".join(text.split()))
    return text if len(text) <= size else text[: size - 1] + "…"


def draw(report: Report, localise: Callable[[str], str] = lambda text: text) -> Chart:
    """The chart as PNG bytes, with the series it was drawn from. `localise` turns the labels into the
    reader's script. Raises MissingGlyphs rather than send boxes."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    font_path()
    labels = [date[5:] for date in report.dates]  # MM-DD
    series: dict[str, Any] = {
        "dates": list(report.dates),
        "questions": list(report.questions),
        "answered": list(report.answered),
        "share": [None if share is None else round(share * 100, 1) for share in report.shares()],
        "entries": [(localise(_short(title)), up, down) for title, up, down in report.entry_votes],
        "themes": [(localise(_short(sample, 20)), count) for sample, count in report.themes],
    }
    texts: list[str] = []

    def say(text: str) -> str:
        shown = localise(text)
        texts.append(shown)
        return shown

    with _DRAWING, warnings.catch_warnings(record=True) as caught, matplotlib.rc_context(
            {"font.family": [FONT_FAMILY, "DejaVu Sans"], "axes.unicode_minus": False}):
        warnings.simplefilter("always")
        figure = Figure(figsize=(11, 8), dpi=100, layout="constrained")
        figure.suptitle(say(strings.CHART_TITLE.format(days=report.days)), fontsize=15)
        daily, share, entries, themes = figure.subplots(2, 2).flat
        step = max(1, len(labels) // 10)
        positions = range(len(labels))
        daily.bar(positions, series["questions"], color="#9bb7d4", label=say(strings.CHART_QUESTIONS))
        daily.bar(positions, series["answered"], color="#2f6690", label=say(strings.CHART_ANSWERED))
        daily.set_title(say(strings.CHART_DAILY))
        daily.set_xticks(list(positions)[::step], labels[::step], rotation=45, fontsize=8)
        daily.legend(loc="upper left")
        points = [(x, value) for x, value in zip(positions, series["share"], strict=True) if value is not None]
        if points:
            share.plot([x for x, _ in points], [y for _, y in points], marker="o", markersize=3, color="#3a7d44")
        share.set_ylim(0, 105)
        share.set_title(say(strings.CHART_SHARE))
        share.set_xticks(list(positions)[::step], labels[::step], rotation=45, fontsize=8)
        share.set_xlim(-0.5, len(labels) - 0.5)
        entries.set_title(say(strings.CHART_VOTES))
        if series["entries"]:
            names = [texts_add(texts, name) for name, _, _ in series["entries"]][::-1]
            ups = [up for _, up, _ in series["entries"]][::-1]
            downs = [down for _, _, down in series["entries"]][::-1]
            entries.barh(names, ups, color="#3a7d44", label=say(strings.CHART_UP))
            entries.barh(names, downs, left=ups, color="#c44536", label=say(strings.CHART_DOWN))
            entries.legend(loc="lower right")
        else:
            entries.text(0.5, 0.5, say(strings.CHART_NONE), ha="center", va="center", transform=entries.transAxes)
        themes.set_title(say(strings.CHART_THEMES))
        if series["themes"]:
            themes.barh([texts_add(texts, name) for name, _ in series["themes"]][::-1],
                        [count for _, count in series["themes"]][::-1], color="#d9a441")
        else:
            themes.text(0.5, 0.5, say(strings.CHART_NONE), ha="center", va="center", transform=themes.transAxes)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    problems = [str(w.message) for w in caught if "missing from" in str(w.message)]
    missing = missing_glyphs("".join(texts))
    if problems or missing:
        raise MissingGlyphs("; ".join(problems) or "".join(sorted(missing)))
    return Chart(buffer.getvalue(), series)


def texts_add(texts: list[str], text: str) -> str:
    texts.append(text)
    return text
