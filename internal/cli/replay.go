package cli

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteReplay prints what a replay of a capture (sspsim replay, sipsim
// replay) found: the results as indented JSON, or each one with write and
// a count line ("N <what> replayed, M answered as in the capture, K
// differ"). It returns how many differ, by same.
func WriteReplay[R any](w io.Writer, asJSON bool, what string, results []R, same func(*R) bool, write func(io.Writer, *R)) (int, error) {
	differ := 0
	for i := range results {
		if !same(&results[i]) {
			differ++
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return differ, enc.Encode(results)
	}
	for i := range results {
		write(w, &results[i])
	}
	_, err := fmt.Fprintf(w, "%d %s replayed, %d answered as in the capture, %d differ\n", len(results), what, len(results)-differ, differ)
	return differ, err
}
