package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// APIKeyPrefix starts every API key, so that a key is recognisable in logs and secret scanners.
const APIKeyPrefix = "rk_"

// NewAPIKey returns a new key "rk_<prefix>_<secret>", its public prefix (which routes a presented key
// to its row) and the hash of its secret (the only part stored). The secret carries 128 random bits,
// so a fast hash is enough: there is nothing to guess offline.
func NewAPIKey() (key, prefix string, secretHash []byte) {
	prefix = rand.Text()[:12]
	secret := rand.Text()
	return APIKeyPrefix + prefix + "_" + secret, prefix, HashSecret(secret)
}

// SplitAPIKey returns the prefix and secret of a presented key, or ok=false when it has the wrong form.
func SplitAPIKey(key string) (prefix, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, APIKeyPrefix)
	if !found {
		return "", "", false
	}
	prefix, secret, ok = strings.Cut(rest, "_")
	return prefix, secret, ok && len(prefix) == 12 && len(secret) == 26
}

// HashSecret hashes an API-key secret for storage.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// SecretMatches compares a presented secret with a stored hash in constant time.
func SecretMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), hash) == 1
}
