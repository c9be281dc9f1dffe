# Each target creates its own virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: demo test test-slow bench paper clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[rl,costmodel,bound,ray,dev]'
	touch $(STAMP)

## the main job: every scheduler on the default scenario at loads 0.7 / 0.9 / 1.2 (4,000 requests each),
## one verdict line per load (who upholds most tenants, by how many, over whom) -> out/demo/
demo: $(STAMP)
	$(VENV)/bin/fairsched compare --loads 0.7,0.9,1.2 --requests 4000 --jobs $(JOBS) --out out/demo

## the test suite (CI runs exactly this)
test: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) -m "not slow"

## long property-based profile and other slow tests
test-slow: $(STAMP)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -q -n $(JOBS) -m slow

bench: $(STAMP)
	$(VENV)/bin/fairsched bench --json out/bench.json

clean:
	rm -rf $(VENV) out .pytest_cache

## the paper-style sweep (all schedulers x 3 loads x 3 tenant mixes x 5 seeds) -> out/paper + figures;
## resumable: an interrupted run continues where it stopped (see docs/experiments.md)
paper: $(STAMP)
	$(VENV)/bin/fairsched sweep paper --out out/paper --jobs $(JOBS)
