"""The engines compared, behind one small interface: build from loaded knowledge, answer one question.

`ours` is the bot's Engine, answering as `ask --json` does. The baselines index the same search units (each
unit's normalised `text`) segmented by plain jieba (default dictionary, no domain words) and answer with their
top unit's display text, always `matched: true` unless they find nothing at all: they have no notion of "I
don't know", so their out-of-domain accuracy is expected to be about 0.
"""

from __future__ import annotations

import re
from typing import Protocol

from bot.answers.units import Unit
from bot.knowledge.model import Snapshot
from bot.text import normalise

ANSWER_CHARS = 500
_CONTENT = re.compile(r"[0-9a-z\u3400-\u9fff]")


class Adapter(Protocol):
    name: str

    def build(self, snapshot: Snapshot, units: list[Unit]) -> None: ...

    def ask(self, question: str) -> dict: ...

    def size(self) -> int: ...


def _no_answer() -> dict:
    return {"matched": False, "answer": "", "score": 0, "sources": [], "suggestions": []}


def _unit_answer(unit: Unit, score: float) -> dict:
    return {"matched": True, "answer": " ".join(unit.sentences)[:ANSWER_CHARS], "score": round(score, 3),
            "sources": [unit.source.as_json()], "suggestions": []}


class Ours:
    name = "ours"
    needs_units = False

    def build(self, snapshot: Snapshot, units: list[Unit]) -> None:
        import gc

        from bot.answers.engine import Engine

        self.engine = Engine(snapshot)
        # As the bot does once its knowledge is loaded (faces.cli.settle_for_serving): the engine lives
        # as long as the process, so it is moved out of the garbage collector's full collections.
        gc.collect()
        gc.freeze()

    def ask(self, question: str) -> dict:
        # Afresh: the engine keeps recent answers, and a repeated question is not a measurement (the
        # baselines keep none).
        return self.engine.answer_afresh(question).as_json()

    def size(self) -> int:
        return self.engine.index.size


class _Segmented:
    """Shared by the baselines: a plain jieba tokenizer, applied to normalised text."""

    needs_units = True

    def _tokenizer(self) -> None:
        import jieba

        self.jieba = jieba.Tokenizer()
        self.jieba.initialize()

    def tokens(self, normalised: str) -> list[str]:
        return [token for token in self.jieba.lcut(normalised) if _CONTENT.search(token) and not token.isspace()]

    def size(self) -> int:
        return len(self.units)


class Bm25(_Segmented):
    name = "bm25"

    def build(self, snapshot: Snapshot, units: list[Unit]) -> None:
        from rank_bm25 import BM25Okapi

        self._tokenizer()
        self.units = units
        self.bm25 = BM25Okapi([self.tokens(unit.text) for unit in units])

    def ask(self, question: str) -> dict:
        tokens = self.tokens(normalise(question))
        if not tokens:
            return _no_answer()
        scores = self.bm25.get_scores(tokens)
        best = int(scores.argmax())
        if scores[best] <= 0:
            return _no_answer()
        return _unit_answer(self.units[best], float(scores[best]))


class Tantivy(_Segmented):
    name = "tantivy"

    def build(self, snapshot: Snapshot, units: list[Unit]) -> None:
        import tantivy

        self.tantivy = tantivy
        self._tokenizer()
        self.units = units
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", tokenizer_name="whitespace")  # tokens are jieba's, already lower case
        builder.add_unsigned_field("unit", stored=True)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)  # in memory
        writer = self.index.writer()
        for number, unit in enumerate(units):
            writer.add_document(tantivy.Document(body=" ".join(self.tokens(unit.text)), unit=number))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def ask(self, question: str) -> dict:
        tokens = list(dict.fromkeys(self.tokens(normalise(question))))
        if not tokens:
            return _no_answer()
        should = self.tantivy.Occur.Should
        query = self.tantivy.Query.boolean_query(
            [(should, self.tantivy.Query.term_query(self.schema, "body", token)) for token in tokens]
        )
        hits = self.searcher.search(query, limit=1, count=False).hits
        if not hits:
            return _no_answer()
        score, address = hits[0]
        return _unit_answer(self.units[self.searcher.doc(address)["unit"][0]], score)


ENGINES: dict[str, type] = {"ours": Ours, "bm25": Bm25, "tantivy": Tantivy}
