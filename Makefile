VENV ?= .venv
PY := $(VENV)/bin/python
AMPFIX := $(VENV)/bin/ampfix
STAMP := $(VENV)/.installed

.PHONY: setup demo test eval bench clean-index

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: setup
	$(AMPFIX) explain examples/sandbox-error.log

test: setup
	$(PY) -m pytest -q

eval: setup
	$(AMPFIX) eval

bench: setup
	$(PY) evals/bench.py

clean-index:
	rm -f index/vectors.faiss index/chunks.json index/manifest.json
