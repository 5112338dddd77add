# git-autoresearch: build, install, test, benchmark, demo.
PREFIX ?= /usr/local
SWIFT ?= swift
# Expanded once, so the demo and the git log that follows see the same directory.
ifndef DEMO_DIR
DEMO_DIR := $(shell mktemp -u /tmp/git-autoresearch-demo.XXXXXX)
endif
BIN := .build/release/git-autoresearch

.PHONY: all install deps build test bench chaos demo clean uninstall

all: build

## Install the system packages the build needs (libgit2-dev), when missing.
deps:
	@if ! pkg-config --exists libgit2 2>/dev/null; then \
		echo "Installing libgit2-dev..."; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libgit2-dev pkg-config; \
	fi

build: deps
	$(SWIFT) build -c release --product git-autoresearch

## Build, install into $(PREFIX)/bin (git finds it as 'git autoresearch'), and run the demo.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/git-autoresearch
	install -m 0644 docs/git-autoresearch.1 $(DESTDIR)$(PREFIX)/share/man/man1/git-autoresearch.1
	@echo "Installed $(DESTDIR)$(PREFIX)/bin/git-autoresearch"
	@$(MAKE) --no-print-directory demo GIT_AUTORESEARCH=$(DESTDIR)$(PREFIX)/bin/git-autoresearch

GIT_AUTORESEARCH ?= $(BIN)

## The demo: an example experiment with scripted edits, then the records through plain git.
demo:
	@test -x $(GIT_AUTORESEARCH) || $(MAKE) --no-print-directory build
	$(GIT_AUTORESEARCH) demo --dir $(DEMO_DIR)
	@echo
	@echo "$$ git log --notes=autoresearch --format='%h %s%n%N' autoresearch/demo"
	@git -C $(DEMO_DIR) log --notes=autoresearch --format='%h %s%n%N' autoresearch/demo

## The whole test suite (builds the binary the end-to-end tests run).
test: deps
	$(SWIFT) build
	$(SWIFT) test

## Benchmarks: tool vs git CLI per iteration, record cost as the ledger grows, runs per minute of 1/2/4 workers,
## a 50k-file tree; BENCH="--only i,j" runs only the parts named (h, i, j).
bench: deps
	$(SWIFT) build -c release --product autoresearch-bench
	$(SWIFT) build -c release --product git-autoresearch
	.build/release/autoresearch-bench $(BENCH)

## Reliability: kill -9 of loop, loop --jobs 3 and push at random moments (CYCLES="--loop 1000 --jobs 300 --push 300").
CYCLES ?=
chaos: deps
	$(SWIFT) build -c release --product autoresearch-chaos
	$(SWIFT) build -c release --product git-autoresearch
	GIT_AUTORESEARCH_BIN=$(CURDIR)/.build/release/git-autoresearch .build/release/autoresearch-chaos $(CYCLES)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/git-autoresearch $(DESTDIR)$(PREFIX)/share/man/man1/git-autoresearch.1

clean:
	rm -rf .build
