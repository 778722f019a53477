# The two set-up commands are `make run` and `make test`; both install what is missing first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
export REPOMGR_DATA_DIR ?= $(CURDIR)/var
# The suite empties its blob store and temp dir on start: keep it apart from `make run`'s data.
TEST_DATA_DIR ?= $(CURDIR)/var/test

.PHONY: run test lint bootstrap clean

$(VENV)/.run-deps: requirements.txt scripts/system-deps.sh
	sh scripts/system-deps.sh run
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: $(VENV)/.run-deps requirements-dev.txt scripts/system-deps.sh
	sh scripts/system-deps.sh test
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

bootstrap: $(VENV)/.run-deps
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py bootstrap

run: bootstrap
	exec $(VENV)/bin/honcho --no-prefix -f Procfile start

test: $(VENV)/.test-deps
	REPOMGR_DATA_DIR=$(TEST_DATA_DIR) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test-deps
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var staticfiles
