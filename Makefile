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
	@echo "make bench  - engine, sweep and start-up benchmarks (reports, not timed tests)"
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
# no breaker) vs after (scoring guard, weighted routing, 2 h / 4 h breaker).  The report
# states which scenario numbers were tuned to which source figure (CASE_TUNED) and reruns
# both policies with the most consequential of them changed (CASE_SENSITIVITY).
KA_TOUCH := [team.groups.0.touch_time.mean, team.groups.1.touch_time.mean, team.groups.2.touch_time.mean]
KA_AHEAD := [team.groups.0.claim_ahead, team.groups.1.claim_ahead, team.groups.2.claim_ahead]
CASE_TUNED := [\
	{name: "key-account touch time (mean h)", set: $(KA_TOUCH), kpi: first_touch_hours_mean, policy: before, source: "11.6 h"},\
	{name: "key-account hoarding (claim_ahead)", set: $(KA_AHEAD), kpi: a_leads_top20_share, policy: before, source: "63%"},\
	{name: "cherry-picking (> 0: strongest reps offered leads first)", set: team.cherry_picking, kpi: a_leads_top20_share, policy: before, source: "63%"},\
	{name: "start date (after the Labour Day holiday)", set: start, kpi: first_touch_hours_mean, policy: before, source: "11.6 h"},\
	{name: "response-decay curve (flat)", set: qualification.decay, kpi: qualification_rate, policy: change, source: "+15-25%"}]
CASE_SENSITIVITY := [\
	{name: "key-account touch time (mean h)", set: $(KA_TOUCH), values: [1.0, 1.25, 1.5]},\
	{name: "response-decay curve", set: qualification.decay,\
	 values: [{kind: exponential, half_life_hours: 6, floor: 0.5, clock: calendar},\
	          {kind: piecewise, points: [[0, 1], [1, 1], [2, 0.143], [24, 0.0167]]}],\
	 labels: ["flat: 0.5 + 0.5 x 0.5^(h / 6)", "research: Oldroyd 2007 / HBR 2011"]}]

demo: $(STAMP)
	$(BIN)/python -m sim report policy_comparison \
		--scenario scenarios/east_china_medtech.yaml \
		--policy scenarios/policies/east_china_before.yaml \
		--policy scenarios/policies/east_china_after.yaml \
		-p replications 5 -p tuned '$(CASE_TUNED)' -p sensitivity '$(CASE_SENSITIVITY)'

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
	$(BIN)/python bench/startup.py

# After a change that alters report outputs: refresh what nbval compares against.
notebooks: $(STAMP)
	cd notebooks && for nb in *.ipynb; do \
		../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.record_timing=False "$$nb" || exit 1; \
	done

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
