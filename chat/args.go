package chat

import (
	"strings"
)

// splitArgs splits a command line as a shell would (Buildbot used
// shlex.split): blanks separate words, '...' quotes literally, "..." quotes
// with backslash escapes, and a backslash outside quotes escapes the next
// character.
func splitArgs(s string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
		quote byte // 0, '\'' or '"'
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteByte(c)
			}
		case c == ' ' || c == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == '\\':
			if i+1 == len(s) {
				return nil, UsageError("a backslash ends the line: escape it as \\\\")
			}
			i++
			cur.WriteByte(s[i])
			inArg = true
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, Usagef("unterminated %c quote: close it or escape it with a backslash", quote)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// parseFlags takes the options names among args, as --name=value or
// --name value, anywhere before a "--"; the other words are returned in
// order.
func parseFlags(args []string, names ...string) (flags map[string]string, rest []string, err error) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(rest, args[i+1:]...), nil
		}
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		known := false
		for _, n := range names {
			known = known || n == name
		}
		if !known {
			return nil, nil, Usagef("unknown option --%s (options: --%s)", name, strings.Join(names, ", --"))
		}
		if _, dup := flags[name]; dup {
			return nil, nil, Usagef("option --%s is given twice", name)
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, nil, Usagef("option --%s needs a value: --%s=VALUE", name, name)
			}
			i++
			value = args[i]
		}
		flags[name] = value
	}
	return flags, rest, nil
}

// parseProps parses --props=k=v,k2=v2.
func parseProps(s string) (map[string]string, error) {
	props := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, Usagef("bad property %q: write --props=NAME=VALUE,NAME2=VALUE2", kv)
		}
		if !validToken(k, "._-/~:") || !validToken(v, "._-/~:") {
			return nil, Usagef("sorry, bad property name=%q, value=%q", k, v)
		}
		props[k] = v
	}
	return props, nil
}

// validToken keeps weird characters out of branch, revision and property
// arguments, as Buildbot's validation settings do by default.
func validToken(s, extra string) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || strings.ContainsRune(extra, r)
		if !ok {
			return false
		}
	}
	return true
}
