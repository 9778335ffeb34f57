package github

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	long := strings.Repeat("a", 200)
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"short", "short"},
		{strings.Repeat("b", 140), strings.Repeat("b", 140)},
		{strings.Repeat("b", 141), strings.Repeat("b", 139) + "…"},
		{long, long[:139] + "…"},
		{strings.Repeat("é", 150), strings.Repeat("é", 139) + "…"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	} {
		got := truncate(tc.in, maxDescription)
		if got != tc.want {
			t.Errorf("truncate(%.20q...) = %q, want %q", tc.in, got, tc.want)
		}
		if n := utf8.RuneCountInString(got); n > maxDescription {
			t.Errorf("truncate gave %d characters", n)
		}
	}
}

func FuzzTruncate(f *testing.F) {
	f.Add("hello", 140)
	f.Add(strings.Repeat("ü", 300), 140)
	f.Add("\xff\xfe", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 1 || n > 1000 {
			return
		}
		got := truncate(s, n)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > n {
			t.Fatalf("truncate(%q, %d) = %q", s, n, got)
		}
		if utf8.ValidString(s) && utf8.RuneCountInString(s) <= n && got != s {
			t.Fatalf("truncate(%q, %d) changed a short string to %q", s, n, got)
		}
	})
}

func TestLedgerForgetsOldest(t *testing.T) {
	var l ledger
	tg := func(i int) (statusKey, *target) {
		t := &target{owner: "o", repo: "r", sha: strings.Repeat("a", 39) + string(rune('0'+i%10)), context: string(rune(i)), state: Pending}
		return newStatusKey(t), t
	}
	for i := range ledgerSize + 10 {
		k, t := tg(i)
		l.record(k, t)
	}
	if len(l.m) != ledgerSize || len(l.order) != ledgerSize {
		t.Errorf("ledger holds %d (%d in order), want %d", len(l.m), len(l.order), ledgerSize)
	}
	k, tt := tg(0)
	if l.check(k, tt) != send {
		t.Error("the oldest pair was not forgotten")
	}
	k, tt = tg(ledgerSize + 9)
	if l.check(k, tt) != repeat {
		t.Error("the newest pair was forgotten")
	}
}
