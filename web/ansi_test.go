package web

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func renderANSI(lines ...string) string {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	a := newANSIHTML(w)
	for _, l := range lines {
		a.line([]byte(l))
	}
	w.Flush()
	return b.String()
}

func TestANSI(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{[]string{"plain <b> & 'q' \"d\"\n"}, "plain &lt;b&gt; &amp; &#39;q&#39; &#34;d&#34;\n"},
		{[]string{"\x1b[31mred\x1b[0m off\n"}, `<span class="fg1">red</span> off` + "\n"},
		{[]string{"\x1b[1;32mbold green\x1b[m\n"}, `<span class="fg2 bold">bold green</span>` + "\n"},
		{[]string{"\x1b[91;44mbright on blue\x1b[39;49m\n"}, `<span class="fg9 bg4">bright on blue</span>` + "\n"},
		{[]string{"\x1b[38;5;13mpalette\x1b[0m \x1b[38;2;1;2;3mtrue\x1b[0m\n"}, `<span class="fg13">palette</span> true` + "\n"},
		// Colour carries to the next line, spans close at each line's end.
		{[]string{"\x1b[33mwarn\n", "still\x1b[0m\n"}, `<span class="fg3">warn` + "\n" + `</span><span class="fg3">still</span>` + "\n"},
		// Cursor moves and erases are dropped; carriage returns too.
		{[]string{"50%\r\x1b[K100%\n"}, "50%100%\n"},
		// Truncated and lone escapes do not eat text.
		{[]string{"a\x1b b\x1b[31"}, "a b"},
		{[]string{"x\x1b[31;<script>\n"}, "x&lt;script&gt;\n"},
	} {
		if got := renderANSI(tt.in...); got != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// FuzzANSI: whatever the log holds, the output has no markup but ours and
// every span is closed.
func FuzzANSI(f *testing.F) {
	for _, s := range []string{"plain\n", "\x1b[31mred\x1b[0m\n", "\x1b[1;38;5;200;48;2;1;2;3m<x>", "\x1b[", "\x1b", "a\rb", "<script>alert(1)</script>", "\x1b[999999999999m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := renderANSI(strings.SplitAfter(in, "\n")...)
		if strings.Count(out, "<span") != strings.Count(out, "</span>") {
			t.Fatalf("unbalanced spans: %q", out)
		}
		stripped := strings.NewReplacer("</span>", "").Replace(out)
		for {
			i := strings.Index(stripped, "<span class=\"")
			if i < 0 {
				break
			}
			j := strings.Index(stripped[i:], "\">")
			if j < 0 {
				t.Fatalf("broken span: %q", out)
			}
			stripped = stripped[:i] + stripped[i+j+2:]
		}
		if strings.ContainsAny(stripped, "<>\"'\x1b") {
			t.Fatalf("unescaped markup in %q", out)
		}
	})
}

func TestEachLineLongLines(t *testing.T) {
	long := strings.Repeat("x", logBuffer*2+10)
	in := "\x1eheader " + long + "\nbody\n\x1e" + "h2\nlast"
	var text bytes.Buffer
	var pieces int
	err := eachLine(strings.NewReader(in), func(line []byte, header, cont bool) {
		pieces++
		if len(line) > logBuffer {
			t.Errorf("a piece of %d bytes: the buffer bound is broken", len(line))
		}
		if !header {
			text.Write(line)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != "body\nlast" {
		t.Errorf("non-header text = %q", text.String())
	}
	if pieces < 5 {
		t.Errorf("%d pieces: the long header line was not split", pieces)
	}
}
