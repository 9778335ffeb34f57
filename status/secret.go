package status

import (
	"fmt"
	"log/slog"
)

// Secret holds a token, password or webhook secret. It never prints itself:
// fmt (every verb), slog and encoding/json show "<redacted>". Call Reveal
// where the value must go on the wire. A Secret can be decoded from JSON or
// text (configuration files); it is encoded redacted.
type Secret string

const redacted = "<redacted>"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return s == "" }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return `status.Secret("` + redacted + `")` }

// Format writes "<redacted>" whatever the verb and flags.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the secret as "<redacted>".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the secret as "<redacted>" (for XML, YAML, maps).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalText decodes a secret from configuration.
func (s *Secret) UnmarshalText(b []byte) error {
	*s = Secret(b)
	return nil
}
