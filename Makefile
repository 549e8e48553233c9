PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install run test bench-answers bench-telegram bench-broadcast bench-abuse bench-store bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python run_bot.py

test: $(STAMP)
	$(BIN)/ruff check bot tests bench run_bot.py
	$(BIN)/python -m pytest -q

bench-answers: $(STAMP)
	$(BIN)/python -m bench.answers

bench-telegram: $(STAMP)
	$(BIN)/python -m bench.telegram_latency

bench-broadcast: $(STAMP)
	$(BIN)/python -m bench.broadcast

bench-abuse: $(STAMP)
	$(BIN)/python -m bench.abuse

# The store at 100k subscribers / 1M questions on SQLite and PostgreSQL, and 50 users x 20 questions at once.
bench-store: $(STAMP)
	$(BIN)/python -m bench.store

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

# Search at scale: ours vs rank_bm25 vs tantivy at 1k/10k/100k passages; `make bench BENCH_ARGS="--sizes 1000"`.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.scale $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
