# Trailhound: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test unit lint bench down status clean system-tools

# Java and Maven run the local servers; promtool/prometheus and docker-compose check dashboards/ and the
# compose file; chromium runs the console's browser tests. As root on Debian they are installed when
# missing; elsewhere install them yourself.
system-tools:
	@need=""; \
	command -v java >/dev/null || need="$$need openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || need="$$need maven"; \
	command -v promtool >/dev/null || need="$$need prometheus"; \
	command -v docker-compose >/dev/null || need="$$need docker-compose"; \
	[ -x /usr/bin/chromium ] || need="$$need chromium fonts-noto-color-emoji"; \
	if [ -n "$$need" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing:$$need"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$need) >/dev/null \
	    || echo "could not install$$need"; \
	fi
	@command -v java >/dev/null || { echo "Java 17+ is needed for Kafka and Elasticsearch (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch Kafka and Elasticsearch (apt-get install maven)"; exit 1; }

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## demo: start Kafka + Elasticsearch + a worker, replay the sample feed, print where to look
demo: system-tools $(STAMP)
	$(BIN)/trailhound demo

## test: the whole suite against real local Kafka and Elasticsearch (started and stopped by the tests)
test: system-tools $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest -q -m "not integration"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

down:
	$(BIN)/trailhound stack down

status:
	$(BIN)/trailhound stack status

clean: down
	rm -rf $(VENV) *.egg-info
