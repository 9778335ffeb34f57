package auth

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/apr1_crypt" // registers $apr1$
	_ "github.com/GehirnInc/crypt/md5_crypt"  // registers $1$
	_ "github.com/GehirnInc/crypt/sha256_crypt"
	_ "github.com/GehirnInc/crypt/sha512_crypt"
	"golang.org/x/crypto/bcrypt"
)

// crypt64 is the alphabet of crypt(3)'s base-64 encoding.
const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// hash is one parsed password hash.
type hash struct {
	scheme string // for error messages and the choice of decoy
	stored string
	// work orders hashes by cost, so that an unknown user is checked
	// against the most expensive one (see Htpasswd.decoy).
	work  int
	check func(password string) bool
}

// errUnknownFormat is wrapped by parseHash for a hash it cannot read.
var errUnknownFormat = errors.New("unknown password hash format")

// parseHash recognises a hash by its form: bcrypt ($2a$, $2b$, $2y$),
// APR1 ($apr1$), glibc MD5, SHA-256 and SHA-512 crypt ($1$, $5$, $6$),
// {SHA} and 13-character DES crypt. Errors say what is wrong and how to
// fix it, never the hash itself.
func parseHash(s string) (*hash, error) {
	h := &hash{stored: s}
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return nil, errors.New("malformed bcrypt hash: re-create it with htpasswd -B")
		}
		h.scheme, h.work = "bcrypt", 1<<cost
		h.check = func(pw string) bool { return bcrypt.CompareHashAndPassword([]byte(s), []byte(pw)) == nil }
		return h, nil
	case strings.HasPrefix(s, "$apr1$"), strings.HasPrefix(s, "$1$"):
		magic, c := "$1$", crypt.MD5
		if strings.HasPrefix(s, "$apr1$") {
			magic, c = "$apr1$", crypt.APR1
		}
		salt, sum, ok := strings.Cut(s[len(magic):], "$")
		if !ok || salt == "" || len(sum) != 22 || !isCrypt64(salt+sum) {
			return nil, errors.New("malformed " + magic + " hash: want " + magic + "SALT$HASH with a 22-character hash")
		}
		if len(salt) > 8 {
			// Apache and glibc use the first 8 characters and compare the
			// whole string, so such an entry can never match.
			return nil, errors.New(magic + " hash has a salt longer than 8 characters, which never matches: re-create it with htpasswd -B")
		}
		h.scheme, h.work = magic, 2
		h.check = cryptCheck(c.New(), s)
		return h, nil
	case strings.HasPrefix(s, "$5$"), strings.HasPrefix(s, "$6$"):
		magic, c, sumLen := s[:3], crypt.SHA256, 43
		if magic == "$6$" {
			c, sumLen = crypt.SHA512, 86
		}
		rounds, rest := 5000, s[3:]
		if r, ok := strings.CutPrefix(rest, "rounds="); ok {
			n, after, _ := strings.Cut(r, "$")
			v, err := strconv.Atoi(n)
			if err != nil || v < 1000 || v > 999_999_999 {
				return nil, errors.New("malformed " + magic + " hash: rounds= must be 1000 to 999999999")
			}
			rounds, rest = v, after
		}
		salt, sum, ok := strings.Cut(rest, "$")
		if !ok || len(salt) > 16 || len(sum) != sumLen || !isCrypt64(sum) || strings.ContainsAny(salt, ":\n") {
			return nil, errors.New("malformed " + magic + " hash: want " + magic + "[rounds=N$]SALT$HASH")
		}
		h.scheme, h.work = magic, rounds/500
		// GehirnInc/crypt's Verify takes "$" after a rounds= salt as part
		// of the salt, so such hashes never match: hand it the salt alone.
		setting := s[:len(s)-len(sum)-1]
		crypter := c.New()
		h.check = func(pw string) bool {
			got, err := crypter.Generate([]byte(pw), []byte(setting))
			return err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(s)) == 1
		}
		return h, nil
	case strings.HasPrefix(s, "{SHA}"):
		want, err := base64.StdEncoding.DecodeString(s[len("{SHA}"):])
		if err != nil || len(want) != sha1.Size {
			return nil, errors.New("malformed {SHA} hash: want base64 of 20 bytes")
		}
		h.scheme, h.work = "{SHA}", 1
		h.check = func(pw string) bool {
			got := sha1.Sum([]byte(pw))
			return subtle.ConstantTimeCompare(got[:], want) == 1
		}
		return h, nil
	case len(s) == 13 && isCrypt64(s):
		h.scheme, h.work = "DES crypt", 1
		h.check = func(pw string) bool {
			return subtle.ConstantTimeCompare([]byte(desCrypt(pw, s[:2])), []byte(s)) == 1
		}
		return h, nil
	}
	return nil, errUnknownFormat
}

// cryptCheck verifies with a GehirnInc/crypt crypter, which compares in
// constant time.
func cryptCheck(c crypt.Crypter, stored string) func(string) bool {
	return func(pw string) bool { return c.Verify(stored, []byte(pw)) == nil }
}

func isCrypt64(s string) bool {
	for i := range len(s) {
		if strings.IndexByte(crypt64, s[i]) < 0 {
			return false
		}
	}
	return true
}

// PasswordAttribute is the status.User attribute UsersDB reads: Buildbot's
// bb_password column.
const PasswordAttribute = "bb_password"

// parseBuildbotPassword reads Buildbot's users-database password: 16 hex
// digits of salt followed by the hex digest of password+salt, MD5 (Buildbot
// 0.8, 48 characters) or SHA-1 (later versions, 56 characters).
func parseBuildbotPassword(s string) (*hash, error) {
	if (len(s) != 16+32 && len(s) != 16+40) || !isHex(s) {
		return nil, errors.New("malformed " + PasswordAttribute + ": want 16 hex digits of salt and an MD5 or SHA-1 hex digest (48 or 56 characters)")
	}
	salt, want := s[:16], strings.ToLower(s[16:])
	sum := func(pw string) []byte { d := md5.Sum([]byte(pw + salt)); return d[:] }
	if len(want) == 40 {
		sum = func(pw string) []byte { d := sha1.Sum([]byte(pw + salt)); return d[:] }
	}
	return &hash{scheme: PasswordAttribute, stored: s, work: 1, check: func(pw string) bool {
		return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum(pw))), []byte(want)) == 1
	}}, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
