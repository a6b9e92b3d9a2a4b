# Every target sets up its own virtual environment, so `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all demo test test-fast proto proto-check lint typecheck bench clean report-demo statements-demo api-docs \
	statement-schema

all: test

# setup.py builds the optional compiled kernels (node/index/_kernel.c, node/storage/_rowscan.c, node/api/_wire.c).
# The video extra (vpdq) builds from source against ffmpeg's libraries: where they are missing the venv is still
# made, the video hashing tests skip, and this says what to install (.ci/run installs them on CI).
VIDEO_DEBS := pkg-config cmake ffmpeg libavcodec-dev libavformat-dev libavdevice-dev libavutil-dev libswscale-dev \
	libswresample-dev libavfilter-dev python3-dev
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev,hashing,threatexchange,video]' 2>$(VENV)/video-extra.log \
	  || { $(PY) -m pip install --quiet -e '.[dev,hashing,threatexchange]' && \
	    echo "make: video hashing (the 'video' extra, vpdq) did not build (see $(VENV)/video-extra.log); its" \
	      "tests will be skipped. Install its build dependencies (Debian: sudo apt-get install $(VIDEO_DEBS))," \
	      "then: $(PY) -m pip install -e '.[video]'"; }
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m demo

# A transparency report from a seeded demo consortium (build/report-demo/report.{json,csv,html}), and a
# screenshot of the HTML page by headless Chromium when it is installed (apt-get install chromium).
report-demo: $(STAMP)
	$(PY) -m demo.report --out build/report-demo

# Statements of reasons from a seeded scenario (build/statements-demo/ID.{json,html}, notices.json), and a
# screenshot of each user page by headless Chromium when it is installed.
statements-demo: $(STAMP)
	$(PY) -m demo.statements --out build/statements-demo

test: $(STAMP)
	$(PY) -m pytest -q

proto: $(STAMP)
	$(PY) scripts/gen_protos.py --out node/api/gen

# Regenerate into a scratch directory and fail on any difference from the checked-in code.
proto-check: $(STAMP)
	@tmp=$$(mktemp -d) && $(PY) scripts/gen_protos.py --out $$tmp/gen && \
	  diff -r -x __pycache__ $$tmp/gen node/api/gen && echo "proto-check: generated code is up to date"; \
	  rc=$$?; rm -rf $$tmp; exit $$rc

# docs/api.md from the protos' comments; tests/test_api_docs.py fails when it is out of date.
api-docs: $(STAMP)
	$(PY) scripts/gen_api_docs.py

# docs/schema/dsa-statement.schema.json from node/dueprocess/tdb.py; tests/test_statement_tdb.py checks it.
statement-schema: $(STAMP)
	$(PY) scripts/gen_statement_schema.py

lint: $(STAMP)
	$(VENV)/bin/ruff check node demo testkit tests bench scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy node demo testkit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
