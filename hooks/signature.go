package hooks

import (
	"crypto/hmac"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
	"sync"
)

// signer verifies hex HMACs of bodies with one key. HMAC states are pooled:
// keying one costs two hash blocks and an allocation per request otherwise.
type signer struct {
	size int
	pool sync.Pool
}

func newSigner(h func() hash.Hash, key string) *signer {
	k := []byte(key)
	s := &signer{size: h().Size()}
	s.pool.New = func() any { return hmac.New(h, k) }
	return s
}

// verify reports whether hexMAC is the HMAC of body. The comparison is
// constant-time (hmac.Equal) once the length is right; the length is public.
func (s *signer) verify(body []byte, hexMAC string) bool {
	var want, got [64]byte
	if len(hexMAC) != 2*s.size {
		return false
	}
	if _, err := hex.Decode(want[:s.size], []byte(hexMAC)); err != nil {
		return false
	}
	m := s.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	sum := m.Sum(got[:0])
	s.pool.Put(m)
	return hmac.Equal(sum, want[:s.size])
}

// hubSignature checks an "ALGO=HEX" header as GitHub and Bitbucket send it.
// algo is the prefix the header must carry ("sha256", "sha1").
func hubSignature(s *signer, body []byte, header, name, algo string) error {
	got, mac, ok := strings.Cut(header, "=")
	if !ok {
		return Reject(http.StatusForbidden, "malformed %s header: expected %s=HEX", name, algo)
	}
	if got != algo {
		return Reject(http.StatusForbidden, "%s header uses algorithm %q: expected %s", name, got, algo)
	}
	if !s.verify(body, mac) {
		return Reject(http.StatusForbidden, "%s does not match the payload: check the webhook secret", name)
	}
	return nil
}
