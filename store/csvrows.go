package store

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
)

// csvRows hands out the data rows of a CSV import. The list import and the
// subscriber import read the same way: a leading byte-order mark and the
// header row are dropped, and a malformed row goes to bad with its line
// and the reading carries on, so one pass reports every bad row.
type csvRows struct {
	cv       *csv.Reader
	isHeader func(rec []string) bool // the first good row is the header
	started  bool                    // a good row was read
}

// next returns the next data row and its 1-based line. bad is called for
// each malformed row skipped on the way. The error is io.EOF at the end;
// any other error is the reader itself failing and stops the import.
func (r *csvRows) next(bad func(line int, err error)) ([]string, int, error) {
	for {
		rec, err := r.cv.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.StartLine, pe.Err)
				continue
			}
			return nil, 0, err
		}
		line, _ := r.cv.FieldPos(0)
		if !r.started {
			r.started = true
			rec[0] = strings.TrimPrefix(rec[0], "\uFEFF")
			if r.isHeader(rec) {
				continue
			}
		}
		return rec, line, nil
	}
}

// addRowError counts one bad row and keeps its message while fewer than
// max are kept: both import reports carry ErrorCount and Errors this way.
func addRowError(count *int, kept *[]RowError, max, line int, format string, args ...any) {
	*count++
	if len(*kept) < max {
		*kept = append(*kept, RowError{line, fmt.Sprintf(format, args...)})
	}
}
