package token

import "encoding/base64"

func decodeForTest(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
