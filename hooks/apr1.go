package hooks

import (
	"crypto/md5"
	"strings"
)

// APR1 is Apache's variant of the FreeBSD MD5-crypt algorithm (htpasswd -m).
// It is weak by today's standards, and supported only so that existing
// htpasswd files keep working.

const apr1Magic = "$apr1$"

// crypt64 is the alphabet of crypt(3)'s base-64 encoding.
const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// splitAPR1 splits "$apr1$salt$hash".
func splitAPR1(s string) (salt, hash string, ok bool) {
	rest, found := strings.CutPrefix(s, apr1Magic)
	if !found {
		return "", "", false
	}
	salt, hash, ok = strings.Cut(rest, "$")
	if !ok || len(salt) == 0 || len(salt) > 8 || len(hash) != 22 {
		return "", "", false
	}
	for _, r := range salt + hash {
		if !strings.ContainsRune(crypt64, r) {
			return "", "", false
		}
	}
	return salt, hash, true
}

// apr1 returns the full "$apr1$salt$hash" string of password.
func apr1(password, salt string) string {
	pw := []byte(password)
	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(apr1Magic))
	ctx.Write([]byte(salt))
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	sum := ctx.Sum(nil)

	// 1000 rounds, to slow down brute force (as designed in 1994).
	for i := range 1000 {
		r := md5.New()
		if i&1 != 0 {
			r.Write(pw)
		} else {
			r.Write(sum)
		}
		if i%3 != 0 {
			r.Write([]byte(salt))
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 != 0 {
			r.Write(sum)
		} else {
			r.Write(pw)
		}
		sum = r.Sum(sum[:0])
	}

	var b strings.Builder
	b.WriteString(apr1Magic)
	b.WriteString(salt)
	b.WriteByte('$')
	enc := func(v uint32, n int) {
		for ; n > 0; n-- {
			b.WriteByte(crypt64[v&0x3f])
			v >>= 6
		}
	}
	for _, t := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		enc(uint32(sum[t[0]])<<16|uint32(sum[t[1]])<<8|uint32(sum[t[2]]), 4)
	}
	enc(uint32(sum[11]), 2)
	return b.String()
}
