package stash

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortKey(t *testing.T) {
	exact := strings.Repeat("k", 40)
	for _, tc := range []struct{ in, want string }{
		{"linux", "linux"},
		{exact, exact},
		{exact + "x", strings.Repeat("k", 31) + "-" + shortKey(exact + "x")[32:]},
		{strings.Repeat("é", 30), strings.Repeat("é", 15) + "-" + shortKey(strings.Repeat("é", 30))[31:]},
	} {
		got := shortKey(tc.in)
		if got != tc.want {
			t.Errorf("shortKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > maxKey || !utf8.ValidString(got) {
			t.Errorf("shortKey(%q) = %q: %d bytes", tc.in, got, len(got))
		}
	}
	// Stable: a fixed key always shortens the same way (statuses of
	// different Herald versions or restarts keep replacing each other).
	if got := shortKey(strings.Repeat("builder-", 8)); got != "builder-builder-builder-builder-d61cb685" {
		t.Errorf("shortKey is not stable: %q", got)
	}
}

func FuzzShortKey(f *testing.F) {
	f.Add("linux")
	f.Add(strings.Repeat("ü", 40))
	f.Add(strings.Repeat("a", 41))
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, k string) {
		got := shortKey(k)
		if len(got) > maxKey || !utf8.ValidString(got) {
			t.Fatalf("shortKey(%q) = %q", k, got)
		}
		if utf8.ValidString(k) && len(k) <= maxKey && got != k {
			t.Fatalf("shortKey(%q) changed a short key to %q", k, got)
		}
		if got != shortKey(k) {
			t.Fatalf("shortKey(%q) is not deterministic", k)
		}
	})
}

func FuzzErrorMessage(f *testing.F) {
	f.Add([]byte(`{"errors":[{"context":null,"message":"Authentication failed.","exceptionName":"x"}]}`))
	f.Add([]byte(`<html><body>Bad gateway</body></html>`))
	f.Add([]byte(`{"errors":[]}`))
	f.Add([]byte(`{"errors":[{"message":12}]}`))
	f.Add([]byte("\xff" + strings.Repeat("ü", 300)))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := errorMessage(body)
		if !utf8.ValidString(m) {
			t.Fatalf("errorMessage(%q) = %q: invalid UTF-8", body, m)
		}
		if !strings.HasPrefix(strings.TrimSpace(string(body)), "{") && len(m) > 200+len("…") {
			t.Fatalf("errorMessage of a non-JSON body is %d bytes", len(m))
		}
	})
}

func TestTrackerForgetsOldest(t *testing.T) {
	var tr tracker
	for i := range trackSize + 10 {
		tr.admit(trackKey{sha: "a", key: string(rune(i + 1))}, 5, false)
	}
	if len(tr.m) != trackSize || len(tr.order) != trackSize {
		t.Errorf("tracker holds %d (%d in order), want %d", len(tr.m), len(tr.order), trackSize)
	}
	if ok, _ := tr.admit(trackKey{sha: "a", key: string(rune(1))}, 1, false); !ok {
		t.Error("the oldest pair was not forgotten")
	}
	if ok, _ := tr.admit(trackKey{sha: "a", key: string(rune(trackSize + 10))}, 1, false); ok {
		t.Error("the newest pair was forgotten")
	}
}
