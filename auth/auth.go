// Package auth checks user names and passwords for Herald's servers: the
// web status (web.Authz.Auth), the change hooks (hooks.Options.Auth) and
// the live stream (stream.Options.Auth) all take one Authenticator, so a
// host with one LDAP check writes one adapter (Func).
//
// Provided: Users (a fixed table), OpenHtpasswd / ParseHtpasswd (Apache
// htpasswd files with bcrypt, APR1, {SHA}, glibc $1$/$5$/$6$ and DES crypt
// hashes), OpenCleartext (Buildbot's change_hook_auth "user:password"
// files), UsersDB (Buildbot's users database: the bb_password attribute of
// status.History's users), and Throttle, which limits failed attempts per
// client address and is shared by all three servers.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"

	"github.com/heraldci/herald/status"
)

// Authenticator checks a user's password.
//
// Authenticate returns nil when password is user's, an error wrapping
// ErrDenied when it is not (unknown user, wrong or empty password), and any
// other error when it could not decide (an unreadable file, an unreachable
// directory server); callers treat both kinds of error as a refusal and may
// log the second. Implementations must be safe for concurrent use, should
// take as long for an unknown user as for a wrong password, and must not
// put the password in an error.
type Authenticator interface {
	Authenticate(ctx context.Context, user, password string) error
}

// ErrDenied is the error of a wrong user name or password.
var ErrDenied = errors.New("auth: wrong user name or password")

// Func is an Authenticator written as a function.
type Func func(ctx context.Context, user, password string) error

// Authenticate calls f.
func (f Func) Authenticate(ctx context.Context, user, password string) error {
	return f(ctx, user, password)
}

// Users checks logins against a fixed table of users and plain-text
// passwords (Buildbot's BasicAuth, PBListener's user and passwd). Users
// with an empty name or password never log in.
func Users(users map[string]status.Secret) Authenticator {
	digests := make(map[string][32]byte, len(users))
	for u, pw := range users {
		if u != "" && !pw.IsZero() {
			digests[u] = sha256.Sum256([]byte(pw.Reveal()))
		}
	}
	return Func(func(_ context.Context, user, password string) error {
		// Comparing digests takes the same time whatever the lengths and
		// wherever the passwords differ; an unknown user is compared too.
		want, known := digests[user]
		got := sha256.Sum256([]byte(password))
		if subtle.ConstantTimeCompare(want[:], got[:]) == 1 && known {
			return nil
		}
		return ErrDenied
	})
}
