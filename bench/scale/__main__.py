"""`python -m bench.scale`: see bench/scale/__init__.py. `--one ENGINE SIZE --out FILE` is the measuring child."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results.json"
META = ROOT / "bench" / "results_meta.json"
SIZES = (1000, 10000, 100000)
ENGINE_NAMES = ("ours", "bm25", "tantivy")
ROUNDS = 3
WARM_UP = 5
GOALS = {"p95_ms": 20.0, "p95_vs_tantivy": 2.0, "build_s": 60.0, "peak_mb": 1024.0, "fact_drop": 0.05}


# --- measuring child -------------------------------------------------------------------------------
def memory_mb() -> tuple[float, float, float]:
    """(current RSS, peak RSS, ru_maxrss) of this process in MB. The peak is VmHWM from /proc: ru_maxrss survives
    execve on Linux, so a child started by a big parent would report the parent's peak; it is kept for reference
    and used only where /proc is missing."""
    values: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak = values.get("VmHWM", maxrss)
    return values.get("VmRSS", peak), peak, maxrss


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def question_sets(manifest: dict | None) -> dict[str, list[dict]]:
    data = ROOT / "tests" / "data"
    return {
        "dev": read_jsonl(data / "dev.jsonl"),
        "holdout": read_jsonl(data / "holdout" / "questions.jsonl"),
        "generated": list(manifest["questions"]) if manifest else [],
        # Held out and frozen: only their figures are reported, never which questions were missed.
        **{f"frozen:{path.parent.name}": read_jsonl(path) for path in sorted(data.glob("frozen-*/questions.jsonl"))},
    }


def timed_subset(count: int, limit: int) -> list[int]:
    """Which of `count` questions are timed: all, or `limit` spread evenly (the same for every engine)."""
    if not limit or limit >= count:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)}) if limit > 1 else [0]


def run_one(engine_name: str, size: str, out: Path, latency_limit: int) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    import jieba

    jieba.setLogLevel(logging.WARNING)
    from bench.scale.data import KNOWLEDGE, dataset
    from bench.scale.engines import ENGINES
    from bot.answers.units import build_units
    from bot.knowledge.loader import load_folder
    from tests.scoring import accuracy

    if engine_name == "ours":
        import bot.answers.engine  # noqa: F401 - imported before the memory baseline, like the baselines' libraries
    elif engine_name == "bm25":
        import rank_bm25  # noqa: F401
    else:
        import tantivy  # noqa: F401

    folder, manifest = (KNOWLEDGE, None) if size == "shipped" else dataset(int(size))
    started = time.perf_counter()
    loaded = load_folder(folder)
    load_s = time.perf_counter() - started
    snapshot = loaded.snapshot
    gc.collect()
    baseline_mb, baseline_hwm_mb, _ = memory_mb()

    adapter = ENGINES[engine_name]()
    units: list = []
    units_s = 0.0
    if adapter.needs_units:  # the baselines index the engine's own units, built outside their build time
        started = time.perf_counter()
        units = build_units(snapshot)[0]
        units_s = time.perf_counter() - started
    started = time.perf_counter()
    adapter.build(snapshot, units)
    build_s = time.perf_counter() - started
    after_build_mb, _, _ = memory_mb()

    sets = question_sets(manifest)
    questions = [q for name in sets for q in sets[name]]
    timed = timed_subset(len(questions), latency_limit)
    for question in questions[:WARM_UP]:
        adapter.ask(question["q"])
    answers: dict[int, dict] = {}
    timings: list[float] = []
    for round_number in range(ROUNDS):
        for position in timed:
            begin = time.perf_counter()
            answer = adapter.ask(questions[position]["q"])
            timings.append((time.perf_counter() - begin) * 1000)
            if round_number == 0:
                answers[position] = answer
    for position, question in enumerate(questions):  # untimed, for the quality figures
        if position not in answers:
            answers[position] = adapter.ask(question["q"])
    timings.sort()
    _, peak_mb, maxrss_mb = memory_mb()

    quality: dict[str, object] = {}
    threshold = None
    if engine_name != "ours":  # a baseline cannot refuse; give it the score threshold that suits dev best
        threshold = tune_threshold(sets["dev"], [answers[i] for i in range(len(sets["dev"]))])
    offset = 0
    for name, group in sets.items():
        got = [answers[offset + i] for i in range(len(group))]
        offset += len(group)
        if group:
            fact, ood, wrong = accuracy(group, got)
            has_ood = any(q.get("kind") != "fact" for q in group)
            quality[name] = {"fact": round(fact, 3), "ood": round(ood, 3) if has_ood else None,
                             "wrong": [] if name.startswith("frozen:") else wrong}
            if threshold is not None:
                fact, ood, _ = accuracy(group, [_below(answer, threshold) for answer in got])
                quality[name]["thresholded"] = {"threshold": threshold, "fact": round(fact, 3),
                                                "ood": round(ood, 3) if has_ood else None}
    generated = sets["generated"]
    if generated:  # those whose figure is the only one the set gives for what they ask (data.mark_answerable)
        first = sum(len(sets[name]) for name in list(sets)[: list(sets).index("generated")])
        picked = [number for number, question in enumerate(generated) if question.get("answerable")]
        fact, _, wrong = accuracy([generated[n] for n in picked], [answers[first + n] for n in picked])
        quality["generated_answerable"] = {"fact": round(fact, 3), "count": len(picked), "of": len(generated),
                                           "wrong": wrong}
    record = {
        "engine": engine_name, "size": size, "units": adapter.size(),
        "load_s": round(load_s, 3), "units_s": round(units_s, 3), "build_s": round(build_s, 3),
        "baseline_mb": round(baseline_mb, 1), "baseline_hwm_mb": round(baseline_hwm_mb, 1),
        "after_build_mb": round(after_build_mb, 1), "peak_mb": round(peak_mb, 1),
        "increment_mb": round(peak_mb - baseline_mb, 1), "ru_maxrss_mb": round(maxrss_mb, 1),
        "queries": len(questions), "queries_timed": len(timed), "timings": len(timings),
        "p50_ms": round(percentile(timings, 0.50), 2), "p95_ms": round(percentile(timings, 0.95), 2),
        "p99_ms": round(percentile(timings, 0.99), 2), "max_ms": round(timings[-1], 2),
        "quality": quality,
    }
    out.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def run_lifecycle(size: str, out: Path) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    import jieba

    jieba.setLogLevel(logging.WARNING)
    from bench.scale.data import KNOWLEDGE, dataset
    from bench.scale.lifecycle import measure

    folder, manifest = (KNOWLEDGE, None) if size == "shipped" else dataset(int(size))
    sets = question_sets(manifest)
    questions = [q["q"] for name in ("dev", "holdout", "generated") for q in sets[name]]
    record = {"size": size, **measure(folder, questions, ROOT)}
    out.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def _below(answer: dict, threshold: float) -> dict:
    if answer.get("matched") and answer.get("score", 0) < threshold:
        return {"matched": False, "answer": "", "score": 0, "sources": [], "suggestions": []}
    return answer


def tune_threshold(questions: list[dict], answers: list[dict]) -> float:
    """The score below which a baseline should say it does not know: the one with the best mean of
    fact and out-of-domain accuracy on `questions` (dev), lowest first on ties."""
    from tests.scoring import accuracy

    best, chosen = -1.0, 0.0
    for threshold in [0.0, *sorted({float(a.get("score", 0)) for a in answers if a.get("matched")})]:
        fact, ood, _ = accuracy(questions, [_below(answer, threshold) for answer in answers])
        if (fact + ood) / 2 > best + 1e-9:
            best, chosen = (fact + ood) / 2, threshold
    return chosen


# --- parent ------------------------------------------------------------------------------------------
def machine() -> dict[str, object]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for package in ("jieba", "rank-bm25", "tantivy", "numpy", "rapidfuzz"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=False).stdout.strip() or None
        changed = subprocess.run(["git", "status", "--porcelain", "--", "bot"], cwd=ROOT, capture_output=True,
                                 text=True, check=False).stdout.strip()
    except OSError:
        commit, changed = None, ""
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": memory_gb, "python": platform.python_version(),
            "platform": platform.platform(), "packages": versions, "git_commit": commit,
            "bot_uncommitted_changes": changed.splitlines()}


def run_child(engine: str, size: str, latency_limit: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        out = Path(tmp) / "result.json"
        command = ([sys.executable, "-m", "bench.scale", "--lifecycle", size, "--out", str(out)] if engine == "life"
                   else [sys.executable, "-m", "bench.scale", "--one", engine, size, "--out", str(out),
                         "--latency-queries", str(latency_limit)])
        subprocess.run(command, cwd=ROOT, check=True)
        return json.loads(out.read_text(encoding="utf-8"))


HEADER = (f"{'engine':<8} {'size':>7} {'units':>7} {'load s':>7} {'build s':>8} {'peak MB':>8} {'+MB':>7} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'fact':>5} {'ood':>5} {'hold f/o':>9} {'gen':>5} {'timed':>6}")


def row(record: dict) -> str:
    quality = record["quality"]
    holdout = quality.get("holdout", {})
    generated = quality.get("generated", {})
    gen = f"{generated['fact']:.2f}" if generated else "-"
    return (f"{record['engine']:<8} {record['size']:>7} {record['units']:>7} {record['load_s']:>7.2f} "
            f"{record['build_s']:>8.2f} {record['peak_mb']:>8.0f} {record['increment_mb']:>7.0f} "
            f"{record['p50_ms']:>8.2f} {record['p95_ms']:>8.2f} {record['p99_ms']:>8.2f} "
            f"{quality['dev']['fact']:>5.2f} {quality['dev']['ood']:>5.2f} "
            f"{holdout.get('fact', 0):>4.2f}/{holdout.get('ood', 0):.2f} {gen:>5} "
            f"{record['queries_timed']:>6}")


def goal_lines(records: dict[tuple[str, str], dict], shipped: dict | None) -> list[str]:
    lines: list[str] = []

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    reference = shipped["quality"]["dev"]["fact"] if shipped else 1.0
    for (engine, size), record in sorted(records.items(), key=lambda item: int(item[0][1])):
        if engine != "ours":
            continue
        fact = record["quality"]["dev"]["fact"]
        rivals = [records[(name, size)]["quality"]["dev"]["fact"] for name in ("bm25", "tantivy")
                  if (name, size) in records]
        ok = fact >= reference - GOALS["fact_drop"] - 1e-9 and all(fact > rival for rival in rivals)
        lines.append(f"  {size:>6}: dev facts {fact:.2f} (shipped {reference:.2f}, baselines "
                     f"{', '.join(f'{r:.2f}' for r in rivals) or '-'}) {verdict(ok)}; "
                     f"build {record['build_s']:.1f} s {verdict(record['build_s'] <= GOALS['build_s'])}; "
                     f"peak {record['peak_mb']:.0f} MB {verdict(record['peak_mb'] <= GOALS['peak_mb'])}")
    if ("ours", "100000") in records:
        ours = records[("ours", "100000")]
        tantivy = records.get(("tantivy", "100000"))
        limit = GOALS["p95_ms"]
        text = f"  100000: p95 {ours['p95_ms']:.1f} ms (goal <= {limit:.0f} ms"
        ok = ours["p95_ms"] <= limit
        if tantivy:
            bound = GOALS["p95_vs_tantivy"] * tantivy["p95_ms"]
            text += f" and <= 2 x tantivy's {tantivy['p95_ms']:.2f} = {bound:.2f} ms"
            ok = ok and ours["p95_ms"] <= bound
        lines.append(text + f") {verdict(ok)}")
    return lines


def load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def life_row(life: dict) -> str:
    return (f"  {life['size']:>7}: full rebuild {life['full_rebuild_s']:.1f} s; "
            f"cold start {life['cold_start_s']:.2f} s (best {life['cold_start_best_s']:.2f}); "
            f"one-file reload {life['reload_one_file_s']:.2f} s (max {life['reload_one_file_max_s']:.2f}); "
            f"RSS after 1 / 10 reloads {life['rss_after_1_reload_mb']:.0f} / {life['rss_after_10_reloads_mb']:.0f} MB; "
            f"p95 quiet {life['p95_quiet_ms']:.1f} ms, during reloads {life['p95_during_reloads_ms']:.1f} ms, "
            f"during a full rebuild {life['p95_during_full_rebuild_ms']:.1f} ms")


LIFE_GOALS = {"cold_start_s": 5.0, "reload_one_file_s": 3.0, "full_rebuild_s": 30.0, "memory_ratio": 1.2,
              "busy_p95_ratio": 2.0, "gen_fact_acc": 0.85}


def life_goals(lives: dict[str, dict], records: dict[tuple[str, str], dict]) -> list[str]:
    lines = []
    for size, life in lives.items():
        def verdict(ok: bool) -> str:
            return "ok" if ok else "MISSED"

        ratio = life["rss_after_10_reloads_mb"] / max(life["rss_after_1_reload_mb"], 1)
        busy = life["p95_during_reloads_ms"] / max(life["p95_quiet_ms"], 1e-6)
        rebuild_busy = life["p95_during_full_rebuild_ms"] / max(life["p95_quiet_ms"], 1e-6)
        generated = records.get(("ours", size), {}).get("quality", {}).get("generated", {}).get("fact")
        answerable = records.get(("ours", size), {}).get("quality", {}).get("generated_answerable")
        parts = [
            f"cold start {life['cold_start_s']:.2f} s {verdict(life['cold_start_s'] <= LIFE_GOALS['cold_start_s'])}",
            f"reload {life['reload_one_file_s']:.2f} s "
            f"{verdict(life['reload_one_file_s'] <= LIFE_GOALS['reload_one_file_s'])}",
            f"full rebuild {life['full_rebuild_s']:.1f} s "
            f"{verdict(life['full_rebuild_s'] <= LIFE_GOALS['full_rebuild_s'])}",
            f"memory x{ratio:.2f} {verdict(ratio <= LIFE_GOALS['memory_ratio'])}",
            f"p95 during reloads x{busy:.1f} {verdict(busy <= LIFE_GOALS['busy_p95_ratio'])}",
            f"during a full rebuild x{rebuild_busy:.1f} {verdict(rebuild_busy <= LIFE_GOALS['busy_p95_ratio'])}",
        ]
        if generated is not None:
            parts.append(f"generated facts {generated:.2f} {verdict(generated >= LIFE_GOALS['gen_fact_acc'])}")
        if answerable:
            parts.append(f"on the {answerable['count']} of {answerable['of']} with one right figure "
                         f"{answerable['fact']:.2f} {verdict(answerable['fact'] >= LIFE_GOALS['gen_fact_acc'])}")
        lines.append(f"  {size:>6}: " + "; ".join(parts))
    return lines


def write_results(records: dict[tuple[str, str], dict], shipped: dict | None, machine_info: dict,
                  datasets: dict[str, dict], latency_limit: int, wall_s: float,
                  lives: dict[str, dict] | None = None) -> None:
    results = load_json(RESULTS)
    meta = load_json(META)
    runs = meta.setdefault("runs", {})
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    for (engine, size), record in records.items():
        quality = record["quality"]["dev"]
        generated = record["quality"].get("generated", {})
        frozen = {name.split(":", 1)[1]: group["fact"] for name, group in record["quality"].items()
                  if name.startswith("frozen:")}
        results.setdefault(engine, {})[size] = {
            "build_s": record["build_s"], "peak_mb": record["peak_mb"], "p50_ms": record["p50_ms"],
            "p95_ms": record["p95_ms"], "p99_ms": record["p99_ms"], "fact_acc": quality["fact"],
            "ood_acc": quality["ood"], "gen_fact_acc": generated.get("fact"), "frozen_fact_acc": frozen,
            "gen_answerable_fact_acc": record["quality"].get("generated_answerable", {}).get("fact"),
            "gen_answerable_count": record["quality"].get("generated_answerable", {}).get("count"),
        }
        if "thresholded" in quality:  # a baseline with the score threshold tuned on dev
            results[engine][size].update({"threshold": quality["thresholded"]["threshold"],
                                          "fact_acc_thresholded": quality["thresholded"]["fact"],
                                          "ood_acc_thresholded": quality["thresholded"]["ood"],
                                          "holdout_thresholded": record["quality"].get("holdout", {})
                                          .get("thresholded")})
        if engine == "ours" and lives and size in lives:
            life = lives[size]
            results[engine][size].update({
                "load_clean_index_s": life["full_rebuild_s"], "cold_start_s": life["cold_start_s"],
                "reload_one_file_s": life["reload_one_file_s"], "full_rebuild_s": life["full_rebuild_s"],
                "rss_after_1_reload_mb": life["rss_after_1_reload_mb"],
                "rss_after_10_reloads_mb": life["rss_after_10_reloads_mb"],
                "p95_quiet_ms": life["p95_quiet_ms"], "p95_during_reloads_ms": life["p95_during_reloads_ms"],
                "p95_during_full_rebuild_ms": life["p95_during_full_rebuild_ms"],
            })
            runs.setdefault("lifecycle", {})[size] = {**life, "measured_at": stamp}
        runs.setdefault(engine, {})[size] = {**record, "measured_at": stamp, "git_commit": machine_info["git_commit"]}
    ordered = {engine: dict(sorted(results[engine].items(), key=lambda item: int(item[0])))
               for engine in ENGINE_NAMES if engine in results}
    RESULTS.write_text(json.dumps(ordered, indent=2) + "\n", encoding="utf-8")
    meta["machine"] = machine_info
    if shipped:
        meta["shipped_reference"] = {**shipped, "measured_at": stamp}
    meta.setdefault("datasets", {}).update(datasets)
    meta["last_run"] = {"at": stamp, "wall_s": round(wall_s, 1), "sizes": sorted({s for _, s in records}, key=int),
                        "engines": sorted({e for e, _ in records}), "latency_queries_limit": latency_limit or None}
    meta["method"] = {
        "data": "shipped knowledge copied unchanged + generated raw pages (bench/scale/data.py, fixed seed), "
                "written as files and loaded with bot.knowledge.loader.load_folder",
        "build_s": "ours: Engine(snapshot); baselines: jieba segmentation + index construction from the engine's "
                   "units (unit building reported separately as units_s, loading as load_s)",
        "peak_mb": "VmHWM (/proc/self/status) of a fresh process that loads the set, builds one engine and "
                   "answers the questions; increment_mb = peak minus VmRSS right after imports and loading; "
                   "ru_maxrss_mb kept for reference (Linux carries it over exec from the parent)",
        "latency": f"dev + holdout + generated questions, {WARM_UP} warm-up queries, then {ROUNDS} rounds; "
                   "nearest-rank percentiles in ms; the timed questions are the same for every engine of a size",
        "quality": "tests/scoring.py accuracy on tests/data/dev.jsonl (fact_acc / ood_acc); holdout and "
                   "generated questions in runs[...].quality",
        "baselines": "plain jieba (default dictionary) over each unit's normalised text; question normalised "
                     "with bot.text.normalise; answer = top unit's sentences (500 chars), matched unless no hit",
    }
    META.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated unit counts")
    parser.add_argument("--engines", default=",".join(ENGINE_NAMES), help="comma-separated: ours,bm25,tantivy")
    parser.add_argument("--latency-queries", type=int, default=0,
                        help="time only this many questions (spread evenly, same for every engine); 0 = all")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, metavar="SIZE", help=argparse.SUPPRESS)
    parser.add_argument("--lifecycle", metavar="SIZE", help=argparse.SUPPRESS)
    parser.add_argument("--no-lifecycle", action="store_true", help="skip build/start/reload/memory measurements")
    args = parser.parse_args(argv)
    if args.generate:
        from bench.scale.data import dataset

        dataset(args.generate)
        return
    if args.one:
        run_one(args.one[0], args.one[1], args.out, args.latency_queries)
        return
    if args.lifecycle:
        run_lifecycle(args.lifecycle, args.out)
        return

    started = time.perf_counter()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in engines if name not in ENGINE_NAMES]
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(unknown)}")
    machine_info = machine()
    print(f"machine: {machine_info['cpu']}, {machine_info['cores']} cores, Python {machine_info['python']}")
    if args.latency_queries:
        print(f"latency over {args.latency_queries} questions per round (spread evenly, same for every engine)")

    logging.getLogger("jieba").setLevel(logging.WARNING)
    from bench.scale.data import dataset

    datasets: dict[str, dict] = {}
    for size in sizes:
        # Generated (and checked by loading it) in a child process, so that this process stays small: a child
        # inherits its parent's ru_maxrss.
        subprocess.run([sys.executable, "-m", "bench.scale", "--generate", str(size)], cwd=ROOT, check=True)
        folder, manifest = dataset(size)
        datasets[str(size)] = {key: manifest[key] for key in ("units", "pages", "entries", "articles", "seed")}
        datasets[str(size)]["folder"] = str(folder.relative_to(ROOT))

    shipped = run_child("ours", "shipped", 0) if "ours" in engines else None
    print(HEADER)
    if shipped:
        print(row(shipped))
    records: dict[tuple[str, str], dict] = {}
    lives: dict[str, dict] = {}
    for size in sizes:
        for engine in engines:
            record = run_child(engine, str(size), args.latency_queries)
            if abs(record["units"] - size) > 0.05 * size:
                print(f"warning: {engine} at {size} indexed {record['units']} units, more than 5% off")
            records[(engine, str(size))] = record
            print(row(record), flush=True)
        if "ours" in engines and not args.no_lifecycle:
            life = run_child("life", str(size), 0)
            lives[str(size)] = life
            print(life_row(life), flush=True)
    wall_s = time.perf_counter() - started
    write_results(records, shipped, machine_info, datasets, args.latency_queries, wall_s, lives)

    print()
    print(HEADER)
    for record in ([shipped] if shipped else []) + list(records.values()):
        print(row(record))
    print()
    print("build s: ours = Engine(snapshot); baselines = jieba segmentation + index (units built before, not counted)."
          " peak MB = peak RSS of the process; +MB = above RSS after imports and loading. fact/ood = dev set; "
          "hold f/o = holdout; gen = generated questions; timed = questions per round (x3).")
    if "ours" in engines:
        print("goals for ours:")
        for line in goal_lines(records, shipped):
            print(line)
    for (engine, size), record in records.items():
        tuned = record["quality"]["dev"].get("thresholded")
        if tuned:
            holdout = record["quality"].get("holdout", {}).get("thresholded") or {}
            print(f"{engine} {size}: with a score threshold tuned on dev ({tuned['threshold']:.2f}): dev facts "
                  f"{tuned['fact']:.2f} ood {tuned['ood']:.2f}; holdout facts {holdout.get('fact', 0):.2f} "
                  f"ood {holdout.get('ood') or 0:.2f}")
    if lives:
        print("lifecycle of ours (see bench/scale/lifecycle.py):")
        for life in lives.values():
            print(life_row(life))
        for line in life_goals(lives, records):
            print(line)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {META.relative_to(ROOT)}; wall time {wall_s:.0f} s")


if __name__ == "__main__":
    main()
