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

# bench runs every capability and its reference side by side, in one run on
# the same disk, and prints one table of ratios. The issues' sizes are the
# defaults (1 GiB of data, 20,000 small files); override for a quick look:
#   make bench BENCH_SIZE=268435456 BENCH_FILES=2000 BENCH_COUNT=1
# Every pair runs BENCH_COUNT times; the table shows the median ratio and its range.
BENCH_SIZE  ?= 1073741824
BENCH_FILES ?= 20000
BENCH_COUNT ?= 3
bench: deps build
	TAPELAB_BIN=$(CURDIR)/$(BIN) TAPELAB_BENCH_SIZE=$(BENCH_SIZE) TAPELAB_BENCH_FILES=$(BENCH_FILES) $(GO) run ./tests/benchtable -count $(BENCH_COUNT)

# fuzz runs every fuzz target for FUZZTIME (one at a time: go test -fuzz takes one target).
fuzz:
	@bash scripts/fuzz-all.sh $(FUZZTIME)

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

clean:
	rm -rf bin
