# callgate — see README.md. `make run` and `make test` are all a new machine needs.
GO      ?= go
BIN     := bin
DATA    ?= data
PKGS    := ./...

.PHONY: all build run test test-deps vet bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## run: build, seed the demo tenant (idempotent) and serve on loopback;
## CONFIG=FILE serves with that configuration (e.g. the IVR on, README)
run: build
	$(BIN)/callgate demo --data $(DATA)$(if $(CONFIG), --config $(CONFIG))
	$(BIN)/callgate serve --data $(DATA)$(if $(CONFIG), --config $(CONFIG))

## test: install the real peers the tests need, then vet and test everything
test: test-deps vet
	$(GO) test -count=1 -timeout 15m $(PKGS)

test-deps:
	@scripts/test-deps.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## bench: every benchmark once (the big-store ones build a cached 10M-entry store first)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

## fuzz: every fuzz target; decoders 60 s each (FUZZTIME_DECODER), others FUZZTIME
fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf $(BIN)
