// Package benchcmp compares the hooks GitHub dialect with
// github.com/go-playground/webhooks/v6 on the same payloads, in one run. It
// is a module of its own so that the comparison's dependency stays out of
// Herald's go.mod; it has no code, only a benchmark:
//
//	cd hooks/benchcmp && go test -run '^$' -bench . -benchmem
package benchcmp
