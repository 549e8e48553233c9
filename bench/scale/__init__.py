"""Search at scale: our engine against rank_bm25 and tantivy on generated knowledge of 1k, 10k and 100k passages.

Run with `make bench` or `python -m bench.scale [--sizes 1000,10000] [--engines ours,tantivy]`. Every (engine,
size) runs in a fresh process (`python -m bench.scale --one ENGINE SIZE`) so that its peak memory is its own.
Prints a table and writes bench/results.json (the figures) and bench/results_meta.json (machine, method,
reference accuracy on the shipped knowledge, and the extra figures of every run).
"""
