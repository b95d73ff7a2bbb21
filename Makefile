# Baton: `make help` lists the targets.
GO       ?= go
BIN      ?= bin/baton
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
ADDR     ?= 127.0.0.1:8080
DATA     ?= ./baton-data

.PHONY: help build run test vet fmt-check generate generate-check vendor-js screenshots bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/baton (a static binary)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build ## build and start a server on $(ADDR) with the compositions in examples/
	@echo "Baton will listen on http://$(ADDR) (data in $(DATA)); stop it with Ctrl-C"
	$(BIN) serve --addr $(ADDR) --data $(DATA) --compositions examples

# -count=1: the e2e and bench packages build the baton binary from the
# source themselves, which Go's test cache cannot see, so a cached pass
# could hide a change.
test: vet fmt-check generate-check ## vet, check formatting and generated code, run every test with the race detector
	$(GO) test -race -count=1 -timeout 15m ./...

vet: ## go vet
	$(GO) vet ./...

fmt-check: ## fail when gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

generate: ## regenerate generated code (templ views)
	$(GO) generate ./...

generate-check: ## fail when the committed templ output is stale
	@$(GO) tool templ generate -path views >/dev/null
	@if [ -d .git ] && ! git diff --quiet -- views; then echo "views/*_templ.go are stale: run make generate and commit them"; git diff --stat -- views; exit 1; fi

vendor-js: ## refresh static/vendor from the versions pinned in web/package.json (needs npm)
	sh web/vendor.sh

screenshots: ## refresh docs/screenshots by driving the UI in Chromium
	BATON_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowser ./e2e/

bench: ## run the Go benchmarks and the engine benchmarks (docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchtime 1x ./storage/ ./plugin/
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 20m ./bench/

clean: ## remove build output (not the data directory)
	rm -rf bin
