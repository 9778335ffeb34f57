package auth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Htpasswd checks logins against a password file. Safe for concurrent use.
type Htpasswd struct {
	path      string // "" when parsed from a reader: never reloaded
	cleartext bool

	mu      sync.Mutex
	modTime time.Time
	size    int64
	table   *table
}

// table is one parsed file.
type table struct {
	users map[string]*hash
	// decoy is checked for unknown users, so that they take as long as
	// the most expensive entry: timing does not tell which users exist.
	decoy *hash
}

var _ Authenticator = (*Htpasswd)(nil)

// OpenHtpasswd reads an Apache htpasswd file ("user:hash" lines; blank
// lines and lines starting with # are skipped). Hashes may be bcrypt
// (htpasswd -B), APR1 (-m), {SHA} (-s), DES crypt (-d), or glibc's
// $1$, $5$ and $6$ crypt. A line in another format, such as a plain-text
// password, is refused with an error naming it. The file is read now, so a
// wrong path fails at startup, and again when its size or time changes.
func OpenHtpasswd(path string) (*Htpasswd, error) {
	h := &Htpasswd{path: path}
	if _, err := h.load(); err != nil {
		return nil, err
	}
	return h, nil
}

// ParseHtpasswd reads htpasswd lines from r (see OpenHtpasswd).
func ParseHtpasswd(r io.Reader) (*Htpasswd, error) {
	t, err := parseFile(r, false)
	if err != nil {
		return nil, fmt.Errorf("auth: htpasswd: %w", err)
	}
	return &Htpasswd{table: t}, nil
}

// OpenCleartext reads a file of "user:password" lines with plain-text
// passwords: Buildbot's change_hook_auth file (Twisted's FilePasswordDB).
// Prefer OpenHtpasswd; this exists so that such files keep working.
func OpenCleartext(path string) (*Htpasswd, error) {
	h := &Htpasswd{path: path, cleartext: true}
	if _, err := h.load(); err != nil {
		return nil, err
	}
	return h, nil
}

// ParseCleartext reads "user:password" lines from r (see OpenCleartext).
func ParseCleartext(r io.Reader) (*Htpasswd, error) {
	t, err := parseFile(r, true)
	if err != nil {
		return nil, fmt.Errorf("auth: password file: %w", err)
	}
	return &Htpasswd{table: t, cleartext: true}, nil
}

// Len returns the number of users.
func (h *Htpasswd) Len() int {
	t, err := h.load()
	if err != nil {
		return 0
	}
	return len(t.users)
}

// String names the file and the number of users, nothing secret.
func (h *Htpasswd) String() string {
	return fmt.Sprintf("auth.Htpasswd(%s, %d users)", h.path, h.Len())
}

// Authenticate checks password against user's entry.
func (h *Htpasswd) Authenticate(ctx context.Context, user, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := h.load()
	if err != nil {
		return err
	}
	e, known := t.users[user]
	if !known {
		t.decoy.check(password)
		return ErrDenied
	}
	if !e.check(password) {
		return ErrDenied
	}
	return nil
}

// load returns the table, reading the file again when its modification
// time or size changed.
func (h *Htpasswd) load() (*table, error) {
	if h.path == "" {
		return h.table, nil
	}
	fi, err := os.Stat(h.path)
	if err != nil {
		return nil, fmt.Errorf("auth: password file: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.table != nil && fi.ModTime().Equal(h.modTime) && fi.Size() == h.size {
		return h.table, nil
	}
	f, err := os.Open(h.path)
	if err != nil {
		return nil, fmt.Errorf("auth: password file: %w", err)
	}
	defer f.Close()
	t, err := parseFile(f, h.cleartext)
	if err != nil {
		return nil, fmt.Errorf("auth: password file %s: %w", h.path, err)
	}
	h.table, h.modTime, h.size = t, fi.ModTime(), fi.Size()
	return t, nil
}

// parseFile reads "user:secret" lines. Every bad line is reported with its
// number; secrets never appear in errors.
func parseFile(r io.Reader, cleartext bool) (*table, error) {
	t := &table{users: map[string]*hash{}}
	var errs []error
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if trimmed := strings.TrimSpace(line); trimmed == "" || trimmed[0] == '#' {
			continue
		}
		user, secret, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("line %d: no ':' between user and password hash: write user:hash", n))
			continue
		case user == "":
			errs = append(errs, fmt.Errorf("line %d: empty user name", n))
			continue
		case secret == "":
			errs = append(errs, fmt.Errorf("line %d: user %q has an empty password", n, user))
			continue
		case t.users[user] != nil:
			errs = append(errs, fmt.Errorf("line %d: user %q is listed twice", n, user))
			continue
		}
		var e *hash
		if cleartext {
			e = cleartextHash(secret)
		} else {
			// Apache's htpasswd appends nothing after the hash, but
			// Buildbot-era files sometimes carry ":comment" fields.
			secret, _, _ = strings.Cut(secret, ":")
			var err error
			if e, err = parseHash(secret); err != nil {
				if errors.Is(err, errUnknownFormat) {
					err = errors.New("the password is not in a known hash format (bcrypt, $apr1$, {SHA}, $1$, $5$, $6$ or DES crypt): re-create the entry with htpasswd -B")
				}
				errs = append(errs, fmt.Errorf("line %d: user %q: %w", n, user, err))
				continue
			}
		}
		t.users[user] = e
		if t.decoy == nil || e.work > t.decoy.work {
			t.decoy = e
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(t.users) == 0 {
		return nil, errors.New("no user: add user:hash lines (htpasswd -B FILE USER)")
	}
	return t, nil
}

func cleartextHash(password string) *hash {
	want := sha256.Sum256([]byte(password))
	return &hash{scheme: "cleartext", work: 1, check: func(pw string) bool {
		got := sha256.Sum256([]byte(pw))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}}
}
