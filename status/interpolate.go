package status

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Renderer renders a string about a build: a Template made by Interpolate,
// or a RenderFunc. Targets take Renderers in their options, so users
// migrating a Buildbot configuration keep their format strings and Go users
// write plain funcs.
type Renderer interface {
	Render(b *Build, kw map[string]string) string
}

// RenderFunc adapts a function to Renderer.
type RenderFunc func(b *Build) string

// Render calls f(b).
func (f RenderFunc) Render(b *Build, _ map[string]string) string { return f(b) }

// Template is a parsed Buildbot Interpolate format string. The zero Template
// renders as "".
type Template struct {
	src   string
	parts []part
}

type part struct {
	lit string // literal text, when sel == ""
	sel string // "prop", "src", "kw"
	key string // property or kw name; for src the attribute
	cb  string // src codebase
	mod byte   // 0, '-', '~', '+', '?', '#'
	a   *Template
	b   *Template // the "false" branch of ? and #?
}

// Interpolate parses a Buildbot-style template:
//
//	%(prop:NAME)s             a build property (also buildername, buildnumber,
//	                          workername, branch, revision, repository, project, codebase)
//	%(src:CODEBASE:ATTR)s     repository, branch, revision, project or codebase of a
//	                          source stamp; %(src::revision)s is the default codebase
//	%(kw:NAME)s               a value passed to Render
//	%(prop:NAME:-DEFAULT)s    DEFAULT when NAME is not set
//	%(prop:NAME:~DEFAULT)s    DEFAULT when NAME is not set or false/empty/zero
//	%(prop:NAME:+REPL)s       REPL when NAME is set, else empty
//	%(prop:NAME:?|YES|NO)s    YES when set, else NO (any delimiter after ?)
//	%(prop:NAME:#?|YES|NO)s   YES when true (set and not false/empty/zero), else NO
//	%%                        a literal %
//
// DEFAULT, REPL, YES and NO may themselves contain %(...)s. A malformed
// template is an error that says where.
func Interpolate(format string) (Template, error) {
	parts, err := parseTemplate(format)
	if err != nil {
		return Template{}, &ParseError{What: "template", Input: format, Err: err}
	}
	return Template{src: format, parts: parts}, nil
}

// MustInterpolate is Interpolate for constant templates; it panics on error.
func MustInterpolate(format string) Template {
	t, err := Interpolate(format)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template's source.
func (t Template) String() string { return t.src }

// IsZero reports whether t is the zero Template.
func (t Template) IsZero() bool { return t.src == "" && t.parts == nil }

// MarshalText returns the source, so templates round-trip through config files.
func (t Template) MarshalText() ([]byte, error) { return []byte(t.src), nil }

// UnmarshalText parses a template from a config file.
func (t *Template) UnmarshalText(b []byte) error {
	v, err := Interpolate(string(b))
	if err == nil {
		*t = v
	}
	return err
}

func parseTemplate(s string) ([]part, error) {
	var parts []part
	var lit strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("lone %% at end (write %%%% for a literal %%)")
		}
		switch s[i+1] {
		case '%':
			lit.WriteByte('%')
			i += 2
			continue
		case '(':
		default:
			return nil, fmt.Errorf("%%%c at offset %d: want %%(selector:key)s or %%%%", s[i+1], i)
		}
		end, err := closing(s, i+2)
		if err != nil {
			return nil, fmt.Errorf("%%( at offset %d: %w", i, err)
		}
		p, err := parseRef(s[i+2 : end])
		if err != nil {
			return nil, fmt.Errorf("%%(%s)s at offset %d: %w", s[i+2:end], i, err)
		}
		if lit.Len() > 0 {
			parts = append(parts, part{lit: lit.String()})
			lit.Reset()
		}
		parts = append(parts, p)
		i = end + 2
	}
	if lit.Len() > 0 {
		parts = append(parts, part{lit: lit.String()})
	}
	return parts, nil
}

// closing returns the index of the ")s" that closes the reference starting at
// i, skipping nested references.
func closing(s string, i int) (int, error) {
	depth := 0
	for ; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+1 < len(s) && s[i+1] == '%':
			i++
		case s[i] == '%' && i+1 < len(s) && s[i+1] == '(':
			depth++
			i++
		case s[i] == ')':
			if i+1 >= len(s) {
				return 0, errors.New("missing conversion: want )s")
			}
			if s[i+1] != 's' {
				if depth == 0 {
					return 0, fmt.Errorf("conversion %%%c is not supported: want )s", s[i+1])
				}
				continue
			}
			if depth == 0 {
				return i, nil
			}
			depth--
			i++
		}
	}
	return 0, errors.New("unterminated: want )s")
}

func parseRef(ref string) (part, error) {
	sel, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return part{}, errors.New("want selector:key (prop:, src:, kw:)")
	}
	p := part{sel: sel}
	switch sel {
	case "prop", "kw":
		p.key, rest, ok = strings.Cut(rest, ":")
		if p.key == "" {
			return part{}, fmt.Errorf("empty %s name", sel)
		}
		if ok {
			return p, p.parseMod(rest)
		}
	case "src":
		var attr string
		p.cb, attr, ok = strings.Cut(rest, ":")
		if !ok {
			return part{}, errors.New("want src:CODEBASE:ATTR (CODEBASE may be empty)")
		}
		p.key, rest, ok = strings.Cut(attr, ":")
		switch p.key {
		case "repository", "branch", "revision", "project", "codebase":
		default:
			return part{}, fmt.Errorf("unknown source attribute %q: want repository, branch, revision, project or codebase", p.key)
		}
		if ok {
			return p, p.parseMod(rest)
		}
	default:
		return part{}, fmt.Errorf("unknown selector %q: want prop, src or kw", sel)
	}
	return p, nil
}

func (p *part) parseMod(m string) error {
	if m == "" {
		return errors.New("empty modifier after ':'")
	}
	p.mod = m[0]
	switch p.mod {
	case '-', '~', '+':
		t, err := Interpolate(m[1:])
		if err != nil {
			return err
		}
		p.a = &t
		return nil
	case '#':
		if len(m) < 2 || m[1] != '?' {
			return errors.New("want #?|yes|no")
		}
		m = m[1:]
		fallthrough
	case '?':
		if len(m) < 2 {
			return errors.New("want ?|yes|no with a delimiter after ?")
		}
		d := m[1:2]
		alts := strings.Split(m[2:], d)
		if len(alts) != 2 {
			return fmt.Errorf("want ?%syes%sno", d, d)
		}
		a, err := Interpolate(alts[0])
		if err != nil {
			return err
		}
		b, err := Interpolate(alts[1])
		if err != nil {
			return err
		}
		p.a, p.b = &a, &b
		return nil
	}
	return fmt.Errorf("unknown modifier %q: want -, ~, +, ? or #?", m[:1])
}

// Render expands t for build b (which may be nil) and keyword values kw.
// Missing values render as "".
func (t Template) Render(b *Build, kw map[string]string) string {
	if len(t.parts) == 1 && t.parts[0].sel == "" {
		return t.parts[0].lit
	}
	var sb strings.Builder
	for i := range t.parts {
		p := &t.parts[i]
		if p.sel == "" {
			sb.WriteString(p.lit)
			continue
		}
		v, set := p.lookup(b, kw)
		switch p.mod {
		case 0:
			sb.WriteString(stringOf(v))
		case '-':
			if set {
				sb.WriteString(stringOf(v))
			} else {
				sb.WriteString(p.a.Render(b, kw))
			}
		case '~':
			if set && truthy(v) {
				sb.WriteString(stringOf(v))
			} else {
				sb.WriteString(p.a.Render(b, kw))
			}
		case '+':
			if set {
				sb.WriteString(p.a.Render(b, kw))
			}
		case '?':
			if set {
				sb.WriteString(p.a.Render(b, kw))
			} else {
				sb.WriteString(p.b.Render(b, kw))
			}
		case '#':
			if set && truthy(v) {
				sb.WriteString(p.a.Render(b, kw))
			} else {
				sb.WriteString(p.b.Render(b, kw))
			}
		}
	}
	return sb.String()
}

func (p *part) lookup(b *Build, kw map[string]string) (any, bool) {
	switch p.sel {
	case "kw":
		v, ok := kw[p.key]
		return v, ok
	case "src":
		if b == nil {
			return nil, false
		}
		s := b.Source(p.cb)
		if s == nil {
			return nil, false
		}
		v := sourceAttr(s, p.key)
		return v, v != ""
	default:
		if b == nil {
			return nil, false
		}
		if v, ok := b.Properties[p.key]; ok {
			return v, true
		}
		return builtinProperty(b, p.key)
	}
}

func sourceAttr(s *SourceStamp, attr string) string {
	switch attr {
	case "repository":
		return s.Repository
	case "branch":
		return s.Branch
	case "revision":
		return s.Revision
	case "project":
		return s.Project
	case "codebase":
		return s.Codebase
	}
	return ""
}

// builtinProperty supplies the properties Buildbot sets on every build.
func builtinProperty(b *Build, name string) (any, bool) {
	switch name {
	case "buildername":
		return b.Builder, true
	case "buildnumber":
		return b.Number, true
	case "workername", "slavename":
		return b.Worker, b.Worker != ""
	case "reason":
		return b.Reason, b.Reason != ""
	case "branch", "revision", "repository", "project", "codebase":
		if s := b.Source(""); s != nil {
			v := sourceAttr(s, name)
			return v, v != ""
		}
	}
	return nil, false
}

func stringOf(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// truthy follows Python's truth: nil, false, zero numbers, empty strings and
// empty collections are false.
func truthy(v any) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool()
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() > 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() != 0
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	}
	return true
}
