package hooks

import (
	"strconv"
	"strings"
	"time"
)

// Forges write dates in a handful of ISO 8601 shapes (Bitbucket's POST
// service puts a space before the offset, old GitLab omits the colon).
var dateLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05-07:00",
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
}

// parseDate parses a forge timestamp; one without an offset is UTC. An empty
// string is the zero time (the host stamps the change on arrival).
func parseDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badPayload("%s %q is not a date", field, s)
}

// maxUnix is the latest time accepted, 9999-12-31: later is a mistake or
// an attack on whatever formats dates downstream.
const maxUnix = 253402300799

// parseUnix parses seconds since the epoch, possibly fractional, from 1970
// to 9999. NaN, infinities and times outside that range are refused.
func parseUnix(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f <= maxUnix) { // false for NaN
		return time.Time{}, badPayload("%s %q is not a Unix time between 1970 and 9999", field, s)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// person formats "Name <email>" as Buildbot does, without empty parts.
func person(name, email string) string {
	switch {
	case email == "":
		return name
	case name == "":
		return "<" + email + ">"
	}
	return name + " <" + email + ">"
}
