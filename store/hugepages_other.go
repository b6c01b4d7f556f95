//go:build !linux

package store

import "errors"

func collapse(r memRange) (int64, error) {
	return 0, errors.New("huge pages for the index are only asked for on Linux")
}
