# Two self-contained entry points: `make demo` and `make test`.
# Each creates .venv when missing and installs what it needs (idempotent: a stamp
# file per extra set, redone only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_OUT ?= demo_output

.PHONY: demo test fuzz lint typecheck bench native clean venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.stamp-core: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-model: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[model]"
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev,model,parquet,dask]"
	touch $@

# 1. radminer on the shipped example reports (labels printed and written to $(DEMO_OUT)/labels.jsonl);
# 2. the CNN end to end on a synthetic DeepLesion: lesion-synth → radminer extract → lesion-prepare
#    → lesion-train → lesion-eval → lesion-annotate (a few minutes on 2 CPU cores).
demo: $(VENV)/.stamp-model
	$(VENV)/bin/radminer extract examples/reports.csv -o $(DEMO_OUT)/labels.jsonl --no-progress
	$(VENV)/bin/radminer extract examples/reports.csv --format csv --no-progress
	$(PY) -m lesion_model.demo $(DEMO_OUT)/lesion

# Lint, the import walls between layers (pyproject.toml, [tool.importlinter]; docs/architecture.md),
# the types of both packages, then the tests.
test: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): treated as a failure" >&2; exit 1; fi; \
	exit $$rc

# The fuzz tests of `make test` (tests/test_fuzz.py: 200 derandomized examples each) with a nightly
# budget: 20,000 random examples each (a few minutes); the last result goes to benchmarks/README.md.
fuzz: $(VENV)/.stamp-dev
	HYPOTHESIS_PROFILE=nightly $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py --hypothesis-show-statistics

# CPU benchmarks (figures go to benchmarks/README.md); bench_train.py is for a GPU machine.
bench: $(VENV)/.stamp-dev
	$(PY) benchmarks/bench_ontology.py
	$(PY) benchmarks/bench_extract.py
	$(PY) benchmarks/bench_prepare.py

# The compiled build (mypyc) of radminer's extraction hot path, installed with its dependencies
# in its own environment, .venv-native (about 2 minutes; needs a C compiler). Built from a copy of
# the tracked files, so no compiled module lands next to the sources. Then, for example:
#   .venv-native/bin/python benchmarks/bench_extract.py
native: $(VENV)/.stamp-dev
	rm -rf build/native && mkdir -p build/native/src
	git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t build/native/src
	cd build/native/src && HATCH_BUILD_HOOKS_ENABLE=1 $(abspath $(PY)) -m pip wheel --quiet --no-deps \
		--no-build-isolation -w ../dist .
	rm -rf .venv-native && $(PYTHON) -m venv .venv-native
	.venv-native/bin/python -m pip install --quiet build/native/dist/radminer-*.whl
	cd build && ../.venv-native/bin/python -c "import radminer.text.context.scopes as m; assert m.__file__.endswith('.so'), m.__file__"

typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy

clean:
	rm -rf $(DEMO_OUT) build dist .venv-native .pytest_cache .ruff_cache .mypy_cache
