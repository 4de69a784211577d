# tapelab: the two commands a newcomer needs are `make demo` and `make test`.
# Both install the system packages they need (Debian, apt-get) when missing.

GO        ?= go
BIN       := bin/tapelab
PKGS      := ./...
# Tests mount FUSE and start servers; keep them sequential per package on 2 cores.
TESTFLAGS ?= -count=1 -timeout 14m -p 2
FUZZTIME  ?= 10s

.PHONY: all build test unit e2e demo bench fuzz lint deps clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/tapelab

# deps installs the Debian packages the tests and the demo use (no-op when present).
deps:
	@bash scripts/install-deps.sh

test: deps build
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	TAPELAB_BIN=$(CURDIR)/$(BIN) $(GO) test $(TESTFLAGS) $(PKGS)

unit: build
	$(GO) test $(TESTFLAGS) -short $(PKGS)

demo: deps build
	$(BIN) demo

bench: deps build
	TAPELAB_BIN=$(CURDIR)/$(BIN) $(GO) run ./tests/benchtable

# fuzz runs every fuzz target for FUZZTIME (one at a time: go test -fuzz takes one target).
fuzz:
	@bash scripts/fuzz-all.sh $(FUZZTIME)

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

clean:
	rm -rf bin
