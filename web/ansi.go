package web

import (
	"bufio"
	"strconv"
)

// ansiHTML writes log text as HTML: text escaped, ANSI SGR colour codes
// (ESC[...m) turned into spans with CSS classes, other escape sequences
// dropped. The colour state carries from line to line, but every span is
// closed at the end of each line, so any prefix of the output is balanced
// HTML and a broken sequence cannot swallow the rest of the page.
type ansiHTML struct {
	w   *bufio.Writer
	sgr sgrState
}

type sgrState struct {
	fg, bg                     int // -1: default; 0-15 the palette
	bold, faint, italic, under bool
}

func newANSIHTML(w *bufio.Writer) *ansiHTML {
	return &ansiHTML{w: w, sgr: sgrState{fg: -1, bg: -1}}
}

func (s sgrState) plain() bool {
	return s.fg < 0 && s.bg < 0 && !s.bold && !s.faint && !s.italic && !s.under
}

func (a *ansiHTML) open() {
	if a.sgr.plain() {
		return
	}
	w := a.w
	w.WriteString(`<span class="`)
	sep := ""
	class := func(c string, n int) {
		w.WriteString(sep)
		w.WriteString(c)
		if n >= 0 {
			w.WriteString(strconv.Itoa(n)) // small numbers: no allocation
		}
		sep = " "
	}
	if a.sgr.fg >= 0 {
		class("fg", a.sgr.fg)
	}
	if a.sgr.bg >= 0 {
		class("bg", a.sgr.bg)
	}
	if a.sgr.bold {
		class("bold", -1)
	}
	if a.sgr.faint {
		class("faint", -1)
	}
	if a.sgr.italic {
		class("italic", -1)
	}
	if a.sgr.under {
		class("under", -1)
	}
	w.WriteString(`">`)
}

func (a *ansiHTML) close() {
	if !a.sgr.plain() {
		a.w.WriteString("</span>")
	}
}

// line writes one line (with or without its newline).
func (a *ansiHTML) line(b []byte) {
	a.open()
	start := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		var rep string
		switch c {
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '&':
			rep = "&amp;"
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		case 0x1b:
			a.w.Write(b[start:i])
			i = a.escape(b, i)
			start = i + 1
			continue
		case '\r', 0:
			// Carriage returns (progress bars) and NULs show as nothing.
			a.w.Write(b[start:i])
			start = i + 1
			continue
		default:
			continue
		}
		a.w.Write(b[start:i])
		a.w.WriteString(rep)
		start = i + 1
	}
	a.w.Write(b[start:])
	a.close()
}

// escape handles the sequence starting at b[i] (ESC) and returns the index
// of its last byte.
func (a *ansiHTML) escape(b []byte, i int) int {
	if i+1 >= len(b) || b[i+1] != '[' {
		return i // a lone ESC: drop it
	}
	j := i + 2
	for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == ';') {
		j++
	}
	if j >= len(b) {
		return len(b) - 1 // truncated: drop the rest of the line's sequence
	}
	if b[j] != 'm' {
		if b[j] >= 0x40 && b[j] <= 0x7e {
			return j // another CSI sequence (cursor moves, erase): drop it
		}
		return j - 1
	}
	a.close()
	a.apply(b[i+2 : j])
	a.open()
	return j
}

func (a *ansiHTML) apply(params []byte) {
	// Parameters go into a fixed array: logs are full of colour codes and
	// this runs for each one.
	var buf [16]int
	codes := buf[:0]
	n, have := 0, false
	for _, c := range params {
		if c == ';' {
			if len(codes) == cap(codes) {
				break
			}
			codes = append(codes, n)
			n, have = 0, false
			continue
		}
		if n < 1000 {
			n = n*10 + int(c-'0')
		}
		have = true
	}
	if (have || len(codes) == 0) && len(codes) < cap(codes) {
		codes = append(codes, n)
	}
	st := &a.sgr
	for k := 0; k < len(codes); k++ {
		switch c := codes[k]; {
		case c == 0:
			*st = sgrState{fg: -1, bg: -1}
		case c == 1:
			st.bold = true
		case c == 2:
			st.faint = true
		case c == 3:
			st.italic = true
		case c == 4:
			st.under = true
		case c == 22:
			st.bold, st.faint = false, false
		case c == 23:
			st.italic = false
		case c == 24:
			st.under = false
		case c >= 30 && c <= 37:
			st.fg = c - 30
		case c == 39:
			st.fg = -1
		case c >= 40 && c <= 47:
			st.bg = c - 40
		case c == 49:
			st.bg = -1
		case c >= 90 && c <= 97:
			st.fg = c - 90 + 8
		case c >= 100 && c <= 107:
			st.bg = c - 100 + 8
		case c == 38 || c == 48:
			// 256 colours (5;n) map to the palette when n < 16; true
			// colour (2;r;g;b) is skipped: a strict CSP forbids inline styles.
			if k+2 < len(codes) && codes[k+1] == 5 {
				if v := codes[k+2]; v < 16 {
					if c == 38 {
						st.fg = v
					} else {
						st.bg = v
					}
				}
				k += 2
			} else if k+4 < len(codes) && codes[k+1] == 2 {
				k += 4
			}
		}
	}
}
