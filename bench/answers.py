"""Answer quality and latency of the engine on the shipped knowledge.

Run with `make bench-answers`. For each question set it prints fact accuracy, out-of-domain accuracy,
how many questions were answered and how many of those answers were wrong (confident wrong), and for
questions that say 今年/去年…: how many answers were judged wrong ("this-year wrong", an upper bound)
and how many state years, none of them the year meant ("other year": another year's fact; an answer
stating no year is not counted there). Relative words are resolved against each question's `today`
(the date the set was written), else 2026-12-03.

Sets:
- frozen-2026-12-03: held out. Written by a helper from the five seed pages only, before the engine
  was rebuilt; never used to pick a rule. Only its figures are printed, never its misses.
- dev, holdout, holdout2, tuning (153 questions a helper wrote from the seed and source pages to be
  looked at), tuning2 (113 more, another helper, same pages, written 2026-12-03 afternoon), tuning3 (111
  more, a fifth helper, same pages, asked for secondary facts; written 2026-12-03 evening), tuning4 (188,
  a sixth helper, every one of the 82 source pages, written while looking at the knowledge and the bot's
  answers, kept the failures; written 2026-12-03 late evening): tuning sets (looked at while changing
  the engine). `--misses` lists their wrong answers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import time
from pathlib import Path

from bot.answers.engine import Engine
from bot.answers.slots import relative_years, written_years
from bot.knowledge.loader import load_folder
from bot.text import normalise
from tests.scoring import judge

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
HELD_OUT = {"frozen-2026-12-03": DATA / "frozen-2026-12-03" / "questions.jsonl",
            "frozen-sources": DATA / "frozen-sources-2026-12-03" / "questions.jsonl"}
TUNING = {"dev": DATA / "dev.jsonl", "holdout": DATA / "holdout" / "questions.jsonl",
          "holdout2": DATA / "holdout2" / "questions.jsonl", "tuning": DATA / "tuning-2026-12-03" / "questions.jsonl",
          "tuning2": DATA / "tuning2-2026-12-03" / "questions.jsonl",
          "tuning3": DATA / "tuning3-2026-12-03" / "questions.jsonl",
          "tuning4": DATA / "tuning4-2026-12-03" / "questions.jsonl"}
DEFAULT_TODAY = dt.date(2026, 12, 3)


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _other_year(question: dict, answer: dict) -> bool:
    """A relative-year question answered with another year's fact: the answer states years (a page's
    own 今年 is shown with its year), and none of them is the year the question means."""
    today = dt.date.fromisoformat(question.get("today") or DEFAULT_TODAY.isoformat())
    text = normalise(question["q"])
    asked = relative_years(text, today.year) | written_years(text)
    stated = written_years(normalise(answer["answer"]))
    return bool(asked and stated and not asked & stated)


def measure(engine: Engine, questions: list[dict], clock: list[dt.date]) -> tuple[dict, list[tuple[dict, dict]]]:
    rows = []
    for question in questions:
        clock[0] = dt.date.fromisoformat(question.get("today") or DEFAULT_TODAY.isoformat())
        rows.append((question, engine.ask(question["q"]).as_json()))
    facts = [judge(q, a) for q, a in rows if q["kind"] == "fact"]
    ood = [judge(q, a) for q, a in rows if q["kind"] == "ood"]
    answered = [(q, a) for q, a in rows if a["matched"]]
    wrong = [(q, a) for q, a in answered if not judge(q, a)]
    relative = [(q, a) for q, a in rows if q.get("tag") == "relative-year"]
    figures = {
        "questions": len(rows), "facts": len(facts), "fact_acc": sum(facts) / max(1, len(facts)),
        "ood": len(ood), "ood_acc": sum(ood) / max(1, len(ood)), "answered": len(answered),
        "confident_wrong": len(wrong), "confident_wrong_share": len(wrong) / max(1, len(answered)),
        "relative_year": len(relative),
        "relative_year_wrong_year": sum(1 for q, a in relative if a["matched"] and not judge(q, a)),
        "relative_year_other_year": sum(1 for q, a in relative if a["matched"] and _other_year(q, a)),
    }
    return figures, [(q, a) for q, a in rows if not judge(q, a)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the tuning sets' wrong answers")
    parser.add_argument("--tuning-only", action="store_true", help="skip the held-out set (while changing the engine)")
    args = parser.parse_args()
    logging.getLogger("jieba").setLevel(logging.WARNING)
    started = time.perf_counter()
    result = load_folder(ROOT / "knowledge")
    loaded = time.perf_counter()
    clock = [DEFAULT_TODAY]
    engine = Engine(result.snapshot, today=lambda: clock[0])
    built = time.perf_counter()
    print(f"units indexed        {engine.index.size}")
    print(f"load knowledge       {loaded - started:.2f} s")
    print(f"build index          {built - loaded:.2f} s")
    print()
    print(f"{'set':<20}{'facts':>12}{'ood':>12}{'answered':>10}{'conf. wrong':>14}{'this-year wrong':>17}"
          f"{'other year':>12}")
    timings: list[float] = []
    for name, path in (*({} if args.tuning_only else HELD_OUT).items(), *TUNING.items()):
        questions = read(path)
        # Timed first: the engine keeps recent answers, and a repeated question is not a measurement.
        for question in questions:
            begin = time.perf_counter()
            engine.ask(question["q"])
            timings.append((time.perf_counter() - begin) * 1000)
        figures, misses = measure(engine, questions, clock)
        wrong = f"{figures['confident_wrong']} ({figures['confident_wrong_share']:.1%})"
        year = f"{figures['relative_year_wrong_year']}/{figures['relative_year']}" if figures["relative_year"] else "-"
        other = f"{figures['relative_year_other_year']}/{figures['relative_year']}" if figures["relative_year"] else "-"
        print(f"{name:<20}{figures['fact_acc']:>7.2f} /{figures['facts']:>3}{figures['ood_acc']:>7.2f} /"
              f"{figures['ood']:>3}{figures['answered']:>10}{wrong:>14}{year:>17}{other:>12}")
        if args.misses and name in TUNING:
            for question, answer in misses:
                print(f"    {question['id']} {question['q']} -> {answer['reason']} {answer['score']} "
                      f"{answer['answer'][:70]!r} {answer['suggestions'][:2]}")
    timings.sort()
    print()
    print(f"questions timed      {len(timings)}")
    print(f"median per question  {statistics.median(timings):.1f} ms")
    print(f"p95 per question     {timings[int(len(timings) * 0.95)]:.1f} ms")


if __name__ == "__main__":
    main()
