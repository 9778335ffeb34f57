package hooks

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader decodes the few fields a dialect needs straight from the bytes,
// validating everything it skips. encoding/json validates the whole input in
// one pass and decodes in a second, through reflection; for a 25-commit push
// that is most of the request's cost (see BenchmarkGitHubPush).
//
// Semantics follow encoding/json decoding into map[string]any: keys match
// exactly (forges send exact keys), the last duplicate key wins, null leaves
// the zero value, invalid UTF-8 becomes U+FFFD, nesting deeper than 10000 is
// an error. FuzzGitHubPush holds the reader to that.
//
// Errors are sticky: after the first one every method is a no-op, so callers
// check err once at the end.
type jsonReader struct {
	data    []byte
	pos     int
	depth   int
	err     error
	scratch []byte // unescaped strings
}

const maxJSONDepth = 10000

func (d *jsonReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("offset %d: %s", d.pos, fmt.Sprintf(format, args...))
	}
	d.pos = len(d.data)
}

// peek skips white space and returns the next byte, 0 at the end.
func (d *jsonReader) peek() byte {
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; c {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return c
		}
	}
	return 0
}

// end checks that only white space is left.
func (d *jsonReader) end() error {
	if d.peek() != 0 && d.err == nil {
		d.fail("data after the top-level value")
	}
	return d.err
}

func (d *jsonReader) typeError(want string) {
	if d.pos >= len(d.data) {
		d.fail("unexpected end of JSON input")
		return
	}
	d.fail("expected %s, found %q", want, d.data[d.pos])
}

// null consumes a null if it comes next.
func (d *jsonReader) null() bool {
	if d.peek() != 'n' {
		return false
	}
	d.literal("null")
	return true
}

func (d *jsonReader) literal(lit string) {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		d.fail("invalid literal, expected %s", lit)
		return
	}
	d.pos += len(lit)
}

func (d *jsonReader) enter() {
	if d.depth++; d.depth > maxJSONDepth {
		d.fail("nesting deeper than %d", maxJSONDepth)
	}
}

// object calls member for each key; member must consume exactly one value.
// The key is only valid until member decodes a value: switch on it first.
// It reports false for null (and on error).
func (d *jsonReader) object(member func(key []byte)) bool {
	if d.null() {
		return false
	}
	if d.peek() != '{' {
		d.typeError("object")
		return false
	}
	d.pos++
	d.enter()
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return true
	}
	for d.err == nil {
		if d.peek() != '"' {
			d.typeError("string key")
			return false
		}
		key := d.stringBytes()
		if d.peek() != ':' {
			d.typeError("':' after object key")
			return false
		}
		d.pos++
		member(key)
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return true
		default:
			d.typeError("',' or '}' in object")
		}
	}
	return false
}

// array calls elem for each element; elem must consume exactly one value.
func (d *jsonReader) array(elem func()) {
	if d.null() {
		return
	}
	if d.peek() != '[' {
		d.typeError("array")
		return
	}
	d.pos++
	d.enter()
	if d.peek() == ']' {
		d.pos++
		d.depth--
		return
	}
	for d.err == nil {
		elem()
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			return
		default:
			d.typeError("',' or ']' in array")
		}
	}
}

// str decodes a string; null gives "".
func (d *jsonReader) str() string {
	if d.null() {
		return ""
	}
	if d.peek() != '"' {
		d.typeError("string")
		return ""
	}
	return string(d.stringBytes())
}

// strBytes decodes a string into bytes valid until the next call; null
// gives nil.
func (d *jsonReader) strBytes() []byte {
	if d.null() {
		return nil
	}
	if d.peek() != '"' {
		d.typeError("string")
		return nil
	}
	return d.stringBytes()
}

// bool decodes true or false; null gives false.
func (d *jsonReader) bool() bool {
	switch d.peek() {
	case 't':
		d.literal("true")
		return true
	case 'f':
		d.literal("false")
	case 'n':
		d.literal("null")
	default:
		d.typeError("true or false")
	}
	return false
}

// int decodes an integer number; null gives 0.
func (d *jsonReader) int() int64 {
	if d.null() {
		return 0
	}
	start := d.pos
	if c := d.peek(); c != '-' && (c < '0' || c > '9') {
		d.typeError("number")
		return 0
	}
	d.number()
	if d.err != nil {
		return 0
	}
	text := string(d.data[start:d.pos])
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		d.pos = start
		d.fail("number %s is not an integer", text)
	}
	return n
}

// skip consumes and validates one value of any type.
func (d *jsonReader) skip() {
	switch c := d.peek(); {
	case c == '"':
		d.stringBytes()
	case c == '{':
		d.object(func([]byte) { d.skip() })
	case c == '[':
		d.array(d.skip)
	case c == 't':
		d.literal("true")
	case c == 'f':
		d.literal("false")
	case c == 'n':
		d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		d.number()
	default:
		d.typeError("value")
	}
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonReader) number() {
	b, i := d.data, d.pos
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		d.pos = i
		d.fail("invalid number")
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			d.pos = i
			d.fail("invalid number: no digit after '.'")
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			d.pos = i
			d.fail("invalid number: no digit in exponent")
			return
		}
	}
	d.pos = i
}

// stringBytes consumes a string at d.pos (a '"') and returns its decoded
// bytes: a slice of the input when there is nothing to unescape, else of
// d.scratch. Either way, valid only until the next call.
func (d *jsonReader) stringBytes() []byte {
	start := d.pos + 1
	if j := bytes.IndexByte(d.data[start:], '"'); j >= 0 {
		s := d.data[start : start+j]
		if plainASCII(s) && bytes.IndexByte(s, '\\') < 0 {
			d.pos = start + j + 1
			return s
		}
	}
	return d.unescape(start, start)
}

// plainASCII reports whether s has only bytes from 0x20 to 0x7f, eight at a
// time: most strings of a payload are URLs, and skipping them is most of
// the work.
func plainASCII(s []byte) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		// (x-lo)&^x has a high bit set where a byte is below 0x20 (exact
		// when no byte has its high bit set, which x itself shows).
		if ((x-lo)&^x|x)&hi != 0 {
			return false
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// unescape decodes the string from start, whose plain prefix ends at i.
func (d *jsonReader) unescape(start, i int) []byte {
	b := d.data
	out := append(d.scratch[:0], b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = out
			return out
		case c == '\\':
			if i+1 >= len(b) {
				d.pos = i
				d.fail("unterminated string")
				return nil
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := hex4(b[i+2:])
				if r < 0 {
					d.pos = i
					d.fail(`invalid \u escape`)
					return nil
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair decodes to one rune; a lone half to U+FFFD.
					if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						if r2 := hex4(b[i+2:]); r2 >= 0 {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								out = utf8.AppendRune(out, dec)
								i += 6
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				d.pos = i
				d.fail("invalid escape \\%c", e)
				return nil
			}
			i += 2
		case c < 0x20:
			d.pos = i
			d.fail("control character %#x in string", c)
			return nil
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(b) && b[j] >= 0x20 && b[j] < utf8.RuneSelf && b[j] != '"' && b[j] != '\\' {
				j++
			}
			out = append(out, b[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
	d.scratch = out
	d.fail("unterminated string")
	return nil
}

// hex4 decodes the four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
