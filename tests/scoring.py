"""The answer-quality yardstick, copied from the shared evaluation so tests never reach outside the repo.

A fact question is right when the answer is matched and every expected group has an alternative in
the first 500 characters (compared in Simplified script); an out-of-domain one when it is not matched.
"""

from __future__ import annotations

from bot.text import to_simplified

_FOLD = str.maketrans({"，": ",", "％": "%", "（": "(", "）": ")", "：": ":", " ": "", "\u3000": ""})


def _norm(text: str) -> str:
    return to_simplified(text).translate(_FOLD)


def judge(question: dict, answer: dict) -> bool:
    if question["kind"] == "ood":
        return answer.get("matched") is False
    if not answer.get("matched"):
        return False
    head = _norm(str(answer.get("answer", "")))[:500]
    return all(any(_norm(alt) in head for alt in group) for group in question["expect"])


def accuracy(questions: list[dict], answers: list[dict]) -> tuple[float, float, list[str]]:
    fact = [judge(q, a) for q, a in zip(questions, answers, strict=True) if q["kind"] == "fact"]
    ood = [judge(q, a) for q, a in zip(questions, answers, strict=True) if q["kind"] == "ood"]
    wrong = [q["id"] for q, a in zip(questions, answers, strict=True) if not judge(q, a)]
    return sum(fact) / max(1, len(fact)), sum(ood) / max(1, len(ood)), wrong
