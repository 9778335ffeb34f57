package auth

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
)

func md5hex(s string) string  { d := md5.Sum([]byte(s)); return hex.EncodeToString(d[:]) }
func sha1hex(s string) string { d := sha1.Sum([]byte(s)); return hex.EncodeToString(d[:]) }
