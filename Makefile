# Two commands for a new user (see README.md):
#   make demo   - create .venv, install, run the default case study, render its report
#   make test   - run every test: unit, statistical (slow-marked), CLI, nbval notebooks
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint bench notebooks clean help

help:
	@echo "make demo   - set up .venv, run the default scenario, render its HTML report"
	@echo "make test   - run the whole test suite (nbval included)"
	@echo "make lint   - ruff check + format check"
	@echo "make bench  - engine throughput benchmark (ratios, not timed tests)"
	@echo "make notebooks - re-execute notebooks/ in place with their default parameters"

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Build matplotlib's font cache now, so no notebook prints the one-off notice.
	MPLBACKEND=Agg $(BIN)/python -c 'import matplotlib.pyplot'
	touch $(STAMP)

# The source's lead-allocation case study (DOMAIN.md 1): before (self-claim marketplace,
# no breaker) vs after (scoring guard, weighted routing, 2 h / 4 h breaker).
demo: $(STAMP)
	$(BIN)/python -m sim report policy_comparison \
		--scenario scenarios/east_china_medtech.yaml \
		--policy scenarios/policies/east_china_before.yaml \
		--policy scenarios/policies/east_china_after.yaml \
		-p replications 5

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile \
		--nbval --nbval-sanitize-with notebooks/nbval_sanitize.cfg \
		tests notebooks $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/sweep_speedup.py

# After a change that alters report outputs: refresh what nbval compares against.
notebooks: $(STAMP)
	cd notebooks && for nb in *.ipynb; do \
		../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.record_timing=False "$$nb" || exit 1; \
	done

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
