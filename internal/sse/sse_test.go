package sse

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func FuzzLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "17", "-1", "18446744073709551615", "18446744073709551616", " 3 ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Last-Event-ID", v)
		id, ok, err := LastEventID(r, "since")
		if !ok {
			if err != nil && !strings.Contains(err.Error(), "must be an event number") {
				t.Errorf("%q: %v", v, err)
			}
			return
		}
		// Only decimal digits are ids, and they mean their value.
		digits := strings.TrimSpace(v)
		if strings.Trim(digits, "0123456789") != "" || strings.TrimLeft(digits, "0") != strings.TrimLeft(fmt.Sprint(id), "0") {
			t.Errorf("%q parsed as %d", v, id)
		}
	})
}
