package auth

import (
	"context"
	"errors"

	"github.com/heraldci/herald/status"
)

// UsersDB checks logins against the users the host knows (h.Users):
// Buildbot's UsersAuth over its users database. A user logs in with their
// identifier (status.User.Name) and the password whose hash is the
// PasswordAttribute attribute: Buildbot's own format (what `buildbot user
// --bb_password` stored) or any hash OpenHtpasswd reads. Users without the
// attribute cannot log in.
func UsersDB(h status.History) Authenticator {
	return Func(func(ctx context.Context, user, password string) error {
		users, err := h.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			stored := u.Attributes[PasswordAttribute]
			if u.Name != user || stored == "" {
				continue
			}
			e, err := parseBuildbotPassword(stored)
			if err != nil {
				if e, err = parseHash(stored); err != nil {
					return errors.New("auth: user " + user + ": unreadable " + PasswordAttribute + " attribute: set it with buildbot user --bb_password or htpasswd -nB")
				}
			}
			if e.check(password) {
				return nil
			}
			return ErrDenied
		}
		usersDBDecoy.check(password)
		return ErrDenied
	})
}

// usersDBDecoy makes an unknown user cost what a Buildbot password does.
var usersDBDecoy, _ = parseBuildbotPassword("0123456789abcdef0123456789abcdef0123456789abcdef01234567")
