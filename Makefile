# Taichung Intelligent Operations Center: the two commands are `make demo` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
IOC     := $(VENV)/bin/ioc
PY      := $(VENV)/bin/python

.PHONY: demo test test-unit test-integration test-e2e bench bench-full chaos deps venv clean-services

demo: deps venv  ## start the whole system on local defaults (Ctrl-C stops it)
	$(IOC) up

test: deps venv  ## the whole suite: unit, integration (real TimescaleDB + Mosquitto), e2e (Chromium)
	$(PY) -m pytest tests

test-unit: venv
	$(PY) -m pytest tests/unit

test-integration: deps venv
	$(PY) -m pytest tests/integration

test-e2e: deps venv
	$(PY) -m pytest tests/e2e

bench: deps venv  ## benchmarks, quick mode; figures in bench/results/
	$(PY) -m bench

bench-full: deps venv
	$(PY) -m bench --full

chaos: deps venv  ## fault injection against real processes
	$(PY) -m pytest tests/chaos -p no:cacheprovider

deps:  ## Debian packages and TimescaleDB (built once); IOC_SKIP_SYSTEM_DEPS=1 skips
	scripts/install-system-deps

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

clean-services:  ## stop the local services
	-$(IOC) services stop

readme:  ## regenerate the README's settings table from ioc/settings.py
	$(PY) -c "import re,pathlib; from ioc import settings; p=pathlib.Path('README.md'); s=p.read_text(); p.write_text(re.sub(r'<!-- settings-table:start -->\n.*?<!-- settings-table:end -->', lambda m: '<!-- settings-table:start -->\n'+settings.markdown_table()+'\n<!-- settings-table:end -->', s, flags=re.S))"
