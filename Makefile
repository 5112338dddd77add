# git-autoresearch: build, install, test, benchmark, demo.
PREFIX ?= /usr/local
SWIFT ?= swift
# Expanded once, so the demo and the git log that follows see the same directory.
ifndef DEMO_DIR
DEMO_DIR := $(shell mktemp -u /tmp/git-autoresearch-demo.XXXXXX)
endif
BIN := .build/release/git-autoresearch
# Release builds link the Swift runtime and Foundation in (the binary runs without the Swift
# toolchain; libgit2 stays the system's). One set of flags for every release product, so that
# building one does not rebuild the others.
RELEASE := -c release --static-swift-stdlib

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
	$(SWIFT) build $(RELEASE) --product git-autoresearch

## Build, install into $(PREFIX)/bin (git finds it as 'git autoresearch', stripped) with the man page and the
## bash, zsh and fish completions (bash: also for 'git autoresearch', through git's completion), and run the demo.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -s -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/git-autoresearch
	install -m 0644 docs/git-autoresearch.1 $(DESTDIR)$(PREFIX)/share/man/man1/git-autoresearch.1
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/git-autoresearch
	$(BIN) completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_git-autoresearch
	$(BIN) completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/git-autoresearch.fish
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
## a 50k-file tree, process start, SLURM workers next to local ones; BENCH="--only i,j" runs only the parts named
## (h, i, j, k, m; or a alone).
bench: deps
	$(SWIFT) build $(RELEASE) --product autoresearch-bench
	$(SWIFT) build $(RELEASE) --product git-autoresearch
	.build/release/autoresearch-bench $(BENCH)

## Reliability: kill -9 of loop, loop --jobs 3 and push at random moments (CYCLES="--loop 1000 --jobs 300 --push 300").
CYCLES ?=
chaos: deps
	$(SWIFT) build $(RELEASE) --product autoresearch-chaos
	$(SWIFT) build $(RELEASE) --product git-autoresearch
	GIT_AUTORESEARCH_BIN=$(CURDIR)/.build/release/git-autoresearch .build/release/autoresearch-chaos $(CYCLES)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/git-autoresearch $(DESTDIR)$(PREFIX)/share/man/man1/git-autoresearch.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/git-autoresearch \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_git-autoresearch \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/git-autoresearch.fish

clean:
	rm -rf .build
