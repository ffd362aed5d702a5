# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv when needed.
PYTHON ?= python3
VENV := .venv
# Tests wait on live servers, browsers and PostgreSQL much of the time, so two pytest workers per core
# keep the cores busy (on 2 cores: 278 s with 2 workers, 235 s with 4, 245 s with 6).
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(2 * (os.cpu_count() or 1))')

.PHONY: demo test lint format clean lock schema

# Installs exactly the versions in requirements.lock (hash-checked), then the project itself.
# After changing dependencies in pyproject.toml, `make lock` writes a new lock file.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

lock:
	$(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet uv
	.lock-venv/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --quiet -o requirements.lock
	rm -rf .lock-venv

demo: $(VENV)/.installed
	scripts/demo.sh

test: $(VENV)/.installed
	scripts/ensure-browser.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n $(TEST_WORKERS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .mypy_cache *.egg-info

# The API's OpenAPI schema, checked in: tests/test_api_schema.py fails until it matches what is served.
schema: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=cronofy_site.settings_test $(VENV)/bin/python manage.py spectacular --validate \
		--fail-on-warn --file schema.yml
