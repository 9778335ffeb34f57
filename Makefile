# make test: installs the real servers the tests use, then vets, checks
# formatting and runs every test with the race detector, requiring servers.
GO ?= go

test: deps vet fmt-check
	HERALD_REQUIRE_SERVERS=1 $(GO) test -race -count=1 -timeout 25m ./...
	./.ci/fuzz-smoke

.PHONY: test deps vet fmt-check bench demo fuzz

deps:
	./.ci/install-test-deps

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz:
	./.ci/fuzz-smoke

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo:
	$(GO) run ./examples/demo
