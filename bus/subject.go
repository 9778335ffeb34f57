package bus

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/heraldci/herald/status"
)

// DefaultPrefix is the first token of every subject.
const DefaultPrefix = "herald"

// noBuilder is the subject token of events about no builder.
const noBuilder = "_"

// Subject returns the subject of e under prefix: prefix.<kind>.<builder>.
func Subject(prefix string, e *status.Event) string {
	b := e.BuilderName()
	if b == "" {
		return prefix + "." + e.Kind.String() + "." + noBuilder
	}
	return prefix + "." + e.Kind.String() + "." + escapeToken(b)
}

// maxPartitions bounds StreamOptions.Partitions and its twins.
const maxPartitions = 256

// partition is one stream of the bus: its name and the prefix of the
// subjects it captures.
type partition struct{ stream, prefix string }

// partitions returns the streams of a bus of n partitions named after
// stream and prefix: the stream itself when n is 1, else stream-0 … and
// prefix.0 … (HERALD-0 capturing herald.0.>, HERALD-1 herald.1.>, …).
func partitions(stream, prefix string, n int) []partition {
	if n <= 1 {
		return []partition{{stream, prefix}}
	}
	ps := make([]partition, n)
	for i := range ps {
		ps[i] = partition{stream + "-" + strconv.Itoa(i), prefix + "." + strconv.Itoa(i)}
	}
	return ps
}

// checkPartitions validates a Partitions option.
func checkPartitions(field string, n int) error {
	if n < 0 || n > maxPartitions {
		return fmt.Errorf("bus: %s %d is out of range: 0 or 1 for one stream, up to %d", field, n, maxPartitions)
	}
	return nil
}

// partitionOf returns which of n partitions holds the events of e's
// builder (FNV-1a of its name; events about no builder hash as ""), so
// every event of a builder goes to one stream, in order.
func partitionOf(e *status.Event, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(e.BuilderName()))
	return int(h.Sum32() % uint32(n))
}

// escapeToken makes s one valid subject token: '%' and every byte that is
// special in NATS subjects ('.', '*', '>', white space, control bytes) are
// written as %XX. A lone "_" is escaped too, so it cannot be mistaken for
// "no builder". unescapeToken reverses it.
func escapeToken(s string) string {
	if s == noBuilder {
		return "%5F"
	}
	if !strings.ContainsFunc(s, special) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if special(rune(c)) {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func special(r rune) bool {
	return r == '%' || r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f
}

// unescapeToken reverses escapeToken; malformed escapes are kept as they are.
func unescapeToken(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if hi, ok1 := unhex(s[i+1]); ok1 {
				if lo, ok2 := unhex(s[i+2]); ok2 {
					b.WriteByte(hi<<4 | lo)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
