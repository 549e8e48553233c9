"""Cutting unit texts into words for the index: jieba's own cut, word for word, done by jieba-rs
(the compiled port) when a rebuild cuts many texts."""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import tempfile
import threading
from collections.abc import Iterator

import jieba

log = logging.getLogger(__name__)

# Text jieba cuts as it stands (its default pattern: characters, letters, digits and +#&._%-) and the
# rest, which it yields whitespace run by whitespace run and otherwise character by character.
_HAN_BLOCK = jieba.re_han_default
_SKIP = jieba.re_skip_default
# Strings jieba-rs is checked against before it is trusted (see Segmenter._compiled).
_SELF_CHECK = ("2020年9月8日湖南省质量月启动仪式结束后，现场举行了2020年郴州市质量开放日主题活动",
               "中国质量奖评选表彰 第三届 abc12 x-y 3.5% c++ 质量强国建设纲要")


def load_dictionary() -> jieba.Tokenizer:
    """A tokenizer with jieba's default dictionary, as `Tokenizer.initialize()` gives it. That reads its
    cache file with marshal.load on the open file, which fetches it a few bytes at a time (0.8-0.9 s of
    a 4 s start at 100k passages); read whole and then unmarshalled, the same file takes 0.3 s. Without
    a usable cache file, jieba builds and writes one as always."""
    tokenizer = jieba.Tokenizer()
    if tokenizer.dictionary == jieba.DEFAULT_DICT and not tokenizer.cache_file:
        # jieba's own name and place for its default dictionary's cache (Tokenizer.initialize)
        path = os.path.join(tokenizer.tmp_dir or tempfile.gettempdir(), "jieba.cache")
        try:
            with open(path, "rb") as handle:
                freq, total = marshal.loads(handle.read())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        else:
            if isinstance(freq, dict) and isinstance(total, int) and freq:
                tokenizer.FREQ, tokenizer.total, tokenizer.initialized = freq, total, True
                return tokenizer
    tokenizer.initialize()
    return tokenizer


class Segmenter:
    """What the index cuts unit texts with: `tokenizer.lcut(text, HMM=False)`, word for word.

    Cutting every passage is most of a full rebuild (jieba is pure Python: about 0.8 ms per passage).
    Inside `bulk()`, jieba-rs (the `rjieba` package) does it: the same algorithm compiled, about eight
    times quicker: a prefix dictionary of the same words and frequencies, the same most probable route
    through it, the same grouping of single letters and digits. It is given exactly this tokenizer's
    words and total (only Han blocks are passed to it; the rest is split here as jieba.cut does), and
    checked against jieba on a few strings before use; without rjieba, or if that check fails, jieba
    does the work. A question is still cut by jieba itself (with HMM, which this does not cover)."""

    def __init__(self, tokenizer: jieba.Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._fast: object | None = None
        self._users = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[str]:
        fast = self._fast
        return _cut_blocks(fast, text) if fast is not None else self.tokenizer.lcut(text, HMM=False)

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """For many texts: jieba-rs cuts them while inside. Its dictionary takes about 0.4 s to build
        and 60 MB, so it is built per bulk job (before work is forked out: the workers inherit it) and
        dropped after, not kept for the few texts of a one-page reload."""
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._fast = self._compiled()
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if not self._users:
                    self._fast = None

    def _compiled(self) -> object | None:
        try:
            import rjieba
        except ImportError:
            return None
        fast = rjieba.Jieba.empty()
        added = 0
        for word, freq in self.tokenizer.FREQ.items():
            if freq > 0:  # jieba keeps every word's prefixes at 0: they are no words
                fast.add_word(word, freq, None)
                added += freq
        # jieba adds a word's frequency to the total even when the word was already known (add_word
        # replaces it), jieba-rs does not; the total weighs every route, so the difference is given
        # to a word that no Han block can hold.
        if self.tokenizer.total > added:
            fast.add_word("\0\0", self.tokenizer.total - added, None)
        if any(_cut_blocks(fast, sample) != self.tokenizer.lcut(sample, HMM=False) for sample in _SELF_CHECK):
            log.warning("jieba-rs cuts differently from jieba; cutting with jieba")
            return None
        return fast


def _cut_blocks(fast: object, text: str) -> list[str]:
    """jieba.cut(text, HMM=False), with each Han block cut by jieba-rs."""
    words: list[str] = []
    cut = fast.cut  # type: ignore[attr-defined]
    # Split on the one group: Han blocks at odd places, the text between them (maybe "") at even ones.
    for number, part in enumerate(_HAN_BLOCK.split(text)):
        if number % 2:
            words.extend(cut(part, False))
        elif "\r\n" not in part:
            words.extend(part)  # jieba yields each whitespace character and each other character alone
        else:
            for piece in _SKIP.split(part):
                if _SKIP.match(piece):
                    words.append(piece)
                else:
                    words.extend(piece)
    return words
