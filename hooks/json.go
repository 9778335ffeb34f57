package hooks

import (
	"errors"
	"reflect"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeJSON decodes a payload into v with the JSON v2 engine
// (github.com/go-json-experiment/json, the module form of Go's encoding/json/v2),
// chosen by measurement: it decodes a GitHub push into a struct of the needed
// fields several times faster than encoding/json (BenchmarkGitHubPush, and
// hooks/benchcmp against go-playground/webhooks), and it is a maintained
// parser rather than a hand-written one.
//
// Member names match exactly (forges send exact names), nesting is bounded,
// null leaves the zero value and members the structs do not name are
// skipped but validated. Two checks the engine makes by default are turned
// off, as encoding/json does not make them, because they cost a third of the
// decoding time: duplicate names are allowed (the last one wins; a
// duplicated object merges into the first) and invalid UTF-8 in a string
// becomes U+FFFD. Payloads are signed by the forge and checked before
// decoding. FuzzGitHubPush holds the decoder to encoding/json.
func decodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err == nil {
		return nil
	}
	// The engine's messages name the Go type ("cannot unmarshal JSON string
	// into Go hooks.githubCommit"); a forge wants the place in its payload.
	var se *json.SemanticError
	if errors.As(err, &se) {
		msg := "wrong type"
		switch {
		case se.Err != nil:
			msg = se.Err.Error()
		case se.JSONKind != 0 && se.GoType != nil:
			msg = "JSON " + se.JSONKind.String() + " where " + jsonKindOf(se.GoType) + " is expected"
		}
		return &jsonError{ptr: se.JSONPointer, msg: msg}
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return &jsonError{ptr: syn.JSONPointer, msg: syn.Err.Error(), offset: syn.ByteOffset}
	}
	return err
}

// jsonError is a decoding error as a forge's admin can act on it.
type jsonError struct {
	ptr    jsontext.Pointer
	msg    string
	offset int64
}

func (e *jsonError) Error() string {
	s := e.msg
	if e.ptr != "" {
		s = "at " + string(e.ptr) + ": " + s
	}
	if e.offset > 0 {
		s += " (byte " + strconv.FormatInt(e.offset, 10) + ")"
	}
	return s
}

// jsonKindOf names the JSON a Go type decodes from.
func jsonKindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	}
	return "another type"
}
