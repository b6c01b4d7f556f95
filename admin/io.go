package admin

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

func readAll(c *call) ([]byte, error) {
	b, err := io.ReadAll(c.r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, field: "body", err: err}
	}
	return b, err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
