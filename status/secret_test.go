package status_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
)

const secretValue = "s3cr3t-hunter2-token"

func TestSecretNeverPrints(t *testing.T) {
	s := status.Secret(secretValue)
	type opts struct {
		Token status.Secret
		User  string
	}
	o := opts{Token: s, User: "bot"}
	var outputs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-8v"} {
		outputs = append(outputs, fmt.Sprintf(f, s), fmt.Sprintf(f, o), fmt.Sprintf(f, &o))
	}
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintln(o), s.String(), s.GoString())
	outputs = append(outputs, fmt.Errorf("login with %v failed", s).Error())
	outputs = append(outputs, errors.Join(fmt.Errorf("token %s", s)).Error())

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("login", "token", s, "opts", o)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("login", "token", s, "opts", o, slog.Any("any", s))
	outputs = append(outputs, text.String(), js.String())

	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(b))

	for _, out := range outputs {
		if strings.Contains(out, secretValue) || strings.Contains(out, fmt.Sprintf("%x", secretValue)) {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("output does not say redacted: %s", out)
		}
	}
	if s.Reveal() != secretValue {
		t.Error("Reveal lost the value")
	}
}

func TestSecretDecodes(t *testing.T) {
	var o struct{ Token status.Secret }
	if err := json.Unmarshal([]byte(`{"Token":"abc"}`), &o); err != nil || o.Token.Reveal() != "abc" {
		t.Fatalf("Unmarshal = %v, %v", o.Token.Reveal(), err)
	}
	if status.Secret("").IsZero() != true || o.Token.IsZero() {
		t.Error("IsZero wrong")
	}
}
