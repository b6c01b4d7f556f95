package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Exit statuses of a replay (sspsim replay, sipsim replay), diff(1)'s
// convention, so that a CI job replaying traces tells a system that
// answered differently from a replay that could not be made:
//
//	0  every live answer is the captured one
//	1  some differ (a live answer, none where the capture has one, or
//	   none in the capture), and nothing went wrong
//	2  trouble: a usage error (as for every subcommand), a capture that
//	   cannot be read or holds nothing to replay, a target that cannot
//	   be reached or stopped answering, an interrupted replay
//
// Trouble wins over differences: a replay that went wrong half-way
// compared only part of the capture.
const (
	ReplaySame    = 0
	ReplayDiffer  = 1
	ReplayTrouble = 2
)

// ReplayHelp is the paragraph of the replays' help about exit statuses.
const ReplayHelp = `Exit status (as diff's): 0 every live answer is the captured one; 1 some
differ; 2 trouble: a usage error, a capture that cannot be read or holds
nothing to replay, a target that cannot be reached or stopped answering,
an interrupted replay (trouble wins over differences).`

// Trouble marks err as a replay's trouble (exit status 2). A usage error
// keeps its own (2 as well), nil stays nil.
func Trouble(err error) error {
	var ue UsageError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	return StatusError{Code: ReplayTrouble, Err: err}
}

// ReplayStatus is a finished replay's result: trouble (exit 2) if any,
// else ExitError 1 when differ > 0, else nil.
func ReplayStatus(differ int, trouble error) error {
	if trouble != nil {
		return Trouble(trouble)
	}
	if differ > 0 {
		return ExitError{Code: ReplayDiffer}
	}
	return nil
}

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
