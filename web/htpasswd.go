package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// HTPasswdAuth checks logins against an Apache htpasswd file, with bcrypt
// ($2y$), APR1-MD5 ($apr1$) and SHA-1 ({SHA}) hashes: Buildbot's
// HTPasswdAuth and HTPasswdAprAuth in one, without libaprutil. The file is
// read now (so a wrong path fails at startup) and again whenever it changes.
func HTPasswdAuth(path string) (Authenticator, error) {
	h := &htpasswdFile{path: path}
	if _, err := h.load(); err != nil {
		return nil, err
	}
	return h, nil
}

type htpasswdFile struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	hashes  map[string]string
}

// load returns the user → hash table, re-reading the file when its
// modification time or size changed.
func (h *htpasswdFile) load() (map[string]string, error) {
	fi, err := os.Stat(h.path)
	if err != nil {
		return nil, fmt.Errorf("web: htpasswd file: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hashes != nil && fi.ModTime().Equal(h.modTime) && fi.Size() == h.size {
		return h.hashes, nil
	}
	f, err := os.Open(h.path)
	if err != nil {
		return nil, fmt.Errorf("web: htpasswd file: %w", err)
	}
	defer f.Close()
	hashes, err := parseHTPasswd(f)
	if err != nil {
		return nil, fmt.Errorf("web: htpasswd file %s: %w", h.path, err)
	}
	h.hashes, h.modTime, h.size = hashes, fi.ModTime(), fi.Size()
	return hashes, nil
}

func (h *htpasswdFile) Authenticate(ctx context.Context, user, password string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	hashes, err := h.load()
	if err != nil {
		return false, err
	}
	hash, ok := hashes[user]
	if !ok {
		return false, nil
	}
	return checkHash(hash, password)
}

// parseHTPasswd reads "user:hash" lines; blank lines and # comments are
// skipped. A line without a colon is an error, so a corrupt file is noticed.
func parseHTPasswd(r io.Reader) (map[string]string, error) {
	hashes := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || hash == "" {
			return nil, fmt.Errorf("line %d: want user:hash", n)
		}
		hashes[user] = hash
	}
	return hashes, sc.Err()
}

// checkHash verifies password against an htpasswd hash. Unknown formats
// (crypt(3) DES, plain text) are refused with an error naming the fix.
func checkHash(hash, password string) (bool, error) {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if err == bcrypt.ErrMismatchedHashAndPassword {
			return false, nil
		}
		return err == nil, err
	case strings.HasPrefix(hash, "$apr1$"):
		rest := hash[len("$apr1$"):]
		salt, _, ok := strings.Cut(rest, "$")
		if !ok {
			return false, fmt.Errorf("web: malformed APR1 hash")
		}
		return subtle.ConstantTimeCompare([]byte(apr1(password, salt)), []byte(hash)) == 1, nil
	case strings.HasPrefix(hash, "{SHA}"):
		sum := sha1.Sum([]byte(password))
		want := base64.StdEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(want), []byte(hash[len("{SHA}"):])) == 1, nil
	}
	return false, fmt.Errorf("web: unsupported htpasswd hash format: re-create the entry with htpasswd -B (bcrypt)")
}

// apr1 computes Apache's MD5-based crypt ("$apr1$salt$hash"): the FreeBSD
// MD5 crypt algorithm with its magic string replaced.
func apr1(password, salt string) string {
	const magic = "$apr1$"
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)
	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(magic))
	ctx.Write([]byte(salt))
	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)
	for i := len(pw); i > 0; i -= 16 {
		ctx.Write(altSum[:min(16, i)])
	}
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)
	for i := range 1000 {
		c := md5.New()
		if i&1 != 0 {
			c.Write(pw)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write([]byte(salt))
		}
		if i%7 != 0 {
			c.Write(pw)
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write(pw)
		}
		final = c.Sum(nil)
	}
	var out bytes.Buffer
	out.WriteString(magic + salt + "$")
	to64 := func(v uint32, n int) {
		const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		for ; n > 0; n-- {
			out.WriteByte(itoa64[v&0x3f])
			v >>= 6
		}
	}
	for _, t := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		to64(uint32(final[t[0]])<<16|uint32(final[t[1]])<<8|uint32(final[t[2]]), 4)
	}
	to64(uint32(final[11]), 2)
	return out.String()
}
