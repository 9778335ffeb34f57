package hooks

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Authenticator checks HTTP Basic credentials. Implementations must be safe
// for concurrent use and should take the same time whatever the password.
type Authenticator interface {
	Authenticate(user, password string) bool
}

// AuthFunc adapts a function to Authenticator.
type AuthFunc func(user, password string) bool

// Authenticate calls f.
func (f AuthFunc) Authenticate(user, password string) bool { return f(user, password) }

// Users is a set of users and passwords read from a Buildbot
// change_hook_auth file ("user:password" lines) or an htpasswd file: each
// line's password may be plain text or a hash made by htpasswd: bcrypt
// ($2y$, -B), SHA-1 ({SHA}, -s) or APR1-MD5 ($apr1$, -m). Blank lines and
// lines starting with # are skipped. crypt(3) DES hashes are not recognised
// (they look like plain passwords): re-hash them with htpasswd -B.
type Users struct {
	byName map[string]credential
}

var _ Authenticator = (*Users)(nil)

type hashKind int

const (
	plain hashKind = iota
	bcryptHash
	sha1Hash
	apr1Hash
)

type credential struct {
	kind hashKind
	// plain: sha256 of the password, so the comparison takes the same time
	// whatever the lengths; sha1: the decoded digest; bcrypt, apr1: the hash.
	digest []byte
	hash   string
}

// LoadUsers reads a password file (see Users).
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hooks: reading password file: %w", err)
	}
	defer f.Close()
	u, err := ParseUsers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// ParseUsers reads password file lines (see Users). Every malformed line is
// reported, with its number; passwords never appear in the error.
func ParseUsers(r io.Reader) (*Users, error) {
	u := &Users{byName: map[string]credential{}}
	var errs []error
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		user, secret, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("line %d: no ':' between user and password: write user:password", n))
			continue
		case user == "":
			errs = append(errs, fmt.Errorf("line %d: empty user name", n))
			continue
		case secret == "":
			errs = append(errs, fmt.Errorf("line %d: user %q has an empty password", n, user))
			continue
		}
		if _, dup := u.byName[user]; dup {
			errs = append(errs, fmt.Errorf("line %d: user %q is listed twice", n, user))
			continue
		}
		c, err := parseCredential(secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: user %q: %w", n, user, err))
			continue
		}
		u.byName[user] = c
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("hooks: malformed password file: %w", errors.Join(errs...))
	}
	if len(u.byName) == 0 {
		return nil, errors.New("hooks: password file lists no user: add user:password lines")
	}
	return u, nil
}

func parseCredential(s string) (credential, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return credential{}, fmt.Errorf("malformed bcrypt hash: regenerate it with htpasswd -B")
		}
		return credential{kind: bcryptHash, hash: s}, nil
	case strings.HasPrefix(s, "{SHA}"):
		d, err := base64.StdEncoding.DecodeString(s[len("{SHA}"):])
		if err != nil || len(d) != sha1.Size {
			return credential{}, fmt.Errorf("malformed {SHA} hash: expected base64 of 20 bytes")
		}
		return credential{kind: sha1Hash, digest: d}, nil
	case strings.HasPrefix(s, apr1Magic):
		salt, _, ok := splitAPR1(s)
		if !ok {
			return credential{}, fmt.Errorf("malformed $apr1$ hash: expected $apr1$SALT$HASH with a 1-8 character salt and a 22 character hash")
		}
		_ = salt
		return credential{kind: apr1Hash, hash: s}, nil
	}
	d := sha256.Sum256([]byte(s))
	return credential{kind: plain, digest: d[:]}, nil
}

// decoy is compared against for unknown users, so that the time taken does
// not tell which user names exist.
var decoy = sha256.Sum256([]byte("herald: no such user"))

// Authenticate reports whether password is user's.
func (u *Users) Authenticate(user, password string) bool {
	c, ok := u.byName[user]
	if !ok {
		p := sha256.Sum256([]byte(password))
		subtle.ConstantTimeCompare(p[:], decoy[:])
		return false
	}
	switch c.kind {
	case bcryptHash:
		return bcrypt.CompareHashAndPassword([]byte(c.hash), []byte(password)) == nil
	case sha1Hash:
		d := sha1.Sum([]byte(password))
		return subtle.ConstantTimeCompare(d[:], c.digest) == 1
	case apr1Hash:
		salt, _, _ := splitAPR1(c.hash)
		return subtle.ConstantTimeCompare([]byte(apr1(password, salt)), []byte(c.hash)) == 1
	default:
		d := sha256.Sum256([]byte(password))
		return subtle.ConstantTimeCompare(d[:], c.digest) == 1
	}
}

// Len returns the number of users.
func (u *Users) Len() int { return len(u.byName) }

// String lists nothing secret: only the number of users.
func (u *Users) String() string { return fmt.Sprintf("hooks.Users(%d users)", len(u.byName)) }
