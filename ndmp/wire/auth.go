package wire

import "crypto/md5"

// MD5Digest computes the NDMP MD5 authentication digest: MD5 over 128
// bytes = password || zeros || challenge || password, the challenge at
// offset 64-L (L = password length, truncated to 32).
func MD5Digest(password string, challenge [64]byte) [16]byte {
	p := []byte(password)
	if len(p) > 32 {
		p = p[:32]
	}
	var msg [128]byte
	l := len(p)
	copy(msg[0:], p)
	copy(msg[64-l:], challenge[:])
	copy(msg[128-l:], p)
	return md5.Sum(msg[:])
}
