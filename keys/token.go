package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// An enterprise authenticates to the REST API with a bearer token
// "<enterprise name>.<secret>", the secret being 32 random bytes in
// base64url (43 characters). The token is shown once when issued
// (`callgate enterprise token NAME`); the store keeps only SHA-256 of the
// secret (store.EnterpriseSignals.TokenHash), so a copy of the store file
// does not let anyone register keys. Issuing a new token revokes the old
// one. (Until the admin tier brings users and roles, this is the whole of
// the enterprise's credential.)

const secretLen = 32

// IssueToken makes a new token for the enterprise named name and the hash
// to store.
func IssueToken(name string) (token string, hash []byte, err error) {
	var secret [secretLen]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, fmt.Errorf("keys: token: %w", err)
	}
	enc := base64.RawURLEncoding.EncodeToString(secret[:])
	h := sha256.Sum256([]byte(enc))
	return name + "." + enc, h[:], nil
}

// ParseToken splits a token into the enterprise's name and the secret
// (the part whose hash is stored).
func ParseToken(token string) (name string, secret []byte, err error) {
	i := strings.LastIndexByte(token, '.')
	if i <= 0 || len(token)-i-1 != base64.RawURLEncoding.EncodedLen(secretLen) {
		return "", nil, fmt.Errorf("keys: malformed API token (want ENTERPRISE.SECRET as issued by 'callgate enterprise token ENTERPRISE')")
	}
	return token[:i], []byte(token[i+1:]), nil
}
