package push

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The rewriter's reference: decode into maps, transform, encode again.

func referenceRewrite(b []byte, filter bool) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	v = numericResults(v)
	if filter {
		v, _ = prune(v)
	}
	// Through JSON once more, so numbers compare as the rewriter's do.
	again, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeNumbers(again)
}

func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func checkRewrite(t *testing.T, b []byte) {
	t.Helper()
	for _, filter := range []bool{true, false} {
		want, err := referenceRewrite(b, filter)
		require.NoError(t, err)
		r := rewriter{in: b, filter: filter}
		r.value()
		require.Equal(t, len(b), r.i, "where the rewriter stopped")
		got, err := decodeNumbers(r.out)
		require.NoError(t, err, "rewriter wrote invalid JSON %s", r.out)
		require.Equal(t, want, got, "filter=%v: rewriter gives %s", filter, r.out)
	}
}

// TestRewriterMatchesReference on every event kind of a running and a
// finished build.
func TestRewriterMatchesReference(t *testing.T) {
	for _, b := range []*status.Build{
		statustest.NewBuild("linux").Number(1).Property("empty", "").Property("zero", 0).Build(),
		statustest.NewBuild("linux").Number(2).Step("test", status.Warnings).Change(statustest.NewChange(1, "A <a@b>")).Failed().Build(),
	} {
		for _, e := range statustest.EveryKind(b) {
			pl, err := json.Marshal(payload(&e))
			require.NoError(t, err)
			checkRewrite(t, pl)
		}
	}
}

// FuzzRewriter: on any JSON as encoding/json writes it, the one-pass
// rewriter and the reference agree.
func FuzzRewriter(f *testing.F) {
	f.Add([]byte(`{"a":"","b":[null,{},"",false,0],"results":"failure","c":{"d":{"e":null}},"t":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`[{"results":""},{"results":"nope"},{"results":3}]`))
	f.Add([]byte(`"\"x\\"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeNumbers(b)
		if err != nil {
			return
		}
		canon, err := json.Marshal(v)
		if err != nil {
			return
		}
		checkRewrite(t, canon)
	})
}

// numericResults replaces every "results" member naming a result by its
// number.
func numericResults(v any) any {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			x[i] = numericResults(e)
		}
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "results" {
				if r, err := status.ParseResult(s); err == nil {
					x[k] = int(r)
					continue
				}
			}
			x[k] = numericResults(e)
		}
	}
	return v
}

const zeroTimeValue = "0001-01-01T00:00:00Z"

// prune returns v without empty members, and whether v itself is empty.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case bool:
		return x, !x
	case string:
		return x, x == "" || x == zeroTimeValue
	case []any:
		out := x[:0]
		for _, e := range x {
			e, _ = prune(e) // list members stay, so positions keep their meaning
			out = append(out, e)
		}
		return out, len(out) == 0
	case map[string]any:
		for k, e := range x {
			e, empty := prune(e)
			if empty {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		return x, len(x) == 0
	}
	return v, false
}
