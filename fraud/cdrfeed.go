package fraud

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"callgate/e164"
)

// CDRError is a refused CDR batch: every bad row. Nothing of the batch was
// applied, so the sender fixes the rows and sends the whole batch again.
type CDRError struct {
	Rows []RowError
}

func (e *CDRError) Error() string {
	return rowErrorsMessage("CDR batch: %d bad row(s), nothing applied", e.Rows)
}

// maxBatch bounds one batch (rows).
const maxBatch = 1_000_000

// ReadCDRs reads a batch in the CDR line form. Every bad row is reported
// (a *CDRError); the batch is returned only when all rows are good.
func ReadCDRs(r io.Reader) ([]CDR, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	var (
		out []CDR
		bad []RowError
	)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		c, err := ParseCDR(b)
		if errors.Is(err, errHeader) && line == 1 {
			continue
		}
		if err != nil {
			bad = append(bad, RowError{Line: line, Err: err.Error()})
			continue
		}
		if len(out) == maxBatch {
			bad = append(bad, RowError{Line: line, Err: fmt.Sprintf("more than %d rows in one batch: split it", maxBatch)})
			break
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		bad = append(bad, RowError{Line: line + 1, Err: fmt.Sprintf("unreadable (%v): lines are at most 4096 bytes", err)})
	}
	if len(bad) > 0 {
		return nil, &CDRError{Rows: bad}
	}
	return out, nil
}

// RecordBatch applies a batch: every CDR is checked first and, if any is
// bad, none is applied (a *CDRError numbering rows from 1). An applied
// batch is in a stored checkpoint when RecordBatch returns nil.
func (m *Monitor) RecordBatch(cdrs []CDR) error {
	var bad []RowError
	for i := range cdrs {
		if err := m.check(cdrs[i]); err != nil {
			bad = append(bad, RowError{Line: i + 1, Err: err.Error()})
		}
	}
	if len(bad) > 0 {
		m.st.invalid.Add(uint64(len(bad)))
		return &CDRError{Rows: bad}
	}
	m.ingest.RLock()
	for i := range cdrs {
		m.apply(&cdrs[i])
	}
	m.ingest.RUnlock()
	return m.Flush()
}

// ContentTypeError is a batch in a form ReadBatch does not read.
type ContentTypeError struct{ Type string }

func (e *ContentTypeError) Error() string {
	return fmt.Sprintf("Content-Type %q: want text/csv (the CDR line form) or application/json (an array of {\"calling\", \"called\", \"start\", \"duration\"})", e.Type)
}

// ReadBatch reads a CDR batch in the form its Content-Type names:
// text/csv (or text/plain, or none) is the line form (ReadCDRs),
// application/json an array of {"calling", "called", "start", "duration"}.
// Bad rows are a *CDRError, an unknown type a *ContentTypeError, a body
// over its limit the reader's error (*http.MaxBytesError).
func ReadBatch(r io.Reader, contentType string) ([]CDR, error) {
	ct, _, _ := mime.ParseMediaType(contentType)
	switch ct {
	case "application/json":
		return decodeJSONCDRs(r)
	case "text/csv", "text/plain", "":
		return ReadCDRs(r)
	}
	return nil, &ContentTypeError{Type: ct}
}

// jsonCDR is a CDR in a JSON batch.
type jsonCDR struct {
	Calling  string `json:"calling"`
	Called   string `json:"called"`
	Start    string `json:"start"`
	Duration int64  `json:"duration"`
}

// maxBody bounds a CDR request.
const maxBody = 64 << 20

// CDRHandler is the REST side of the CDR feed: POST a batch as text/csv
// (the line form) or application/json (an array of {"calling", "called",
// "start", "duration"}). 200 {"applied": N} when stored; 400 with every
// bad row and nothing applied; 503 when the checkpoint could not be stored
// (the batch is applied in memory and retried: no need to send it again;
// a copy within fraud.cdr_dedup_window is dropped as a duplicate).
func (m *Monitor) CDRHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST a CDR batch (text/csv or application/json)", http.StatusMethodNotAllowed)
			return
		}
		body := http.MaxBytesReader(w, r.Body, maxBody)
		cdrs, err := ReadBatch(body, r.Header.Get("Content-Type"))
		var cte *ContentTypeError
		if errors.As(err, &cte) {
			http.Error(w, cte.Error(), http.StatusUnsupportedMediaType)
			return
		}
		if err == nil {
			err = m.RecordBatch(cdrs)
		}
		var ce *CDRError
		var mbe *http.MaxBytesError
		w.Header().Set("Content-Type", "application/json")
		switch {
		case err == nil:
			fmt.Fprintf(w, "{\"applied\":%d}\n", len(cdrs))
		case errors.As(err, &ce):
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "nothing applied", "rows": ce.Rows})
		case errors.As(err, &mbe):
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": fmt.Sprintf("batch larger than %d bytes: split it", maxBody)})
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": err.Error(), "applied": len(cdrs)})
		}
	})
}

// MarshalJSON makes RowError readable in the handler's answer.
func (e RowError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	}{e.Line, e.Err})
}

func decodeJSONCDRs(r io.Reader) ([]CDR, error) {
	var in []jsonCDR
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &CDRError{Rows: []RowError{{Line: 1, Err: "JSON: " + err.Error() + " (want an array of {\"calling\", \"called\", \"start\", \"duration\"})"}}}
	}
	if len(in) > maxBatch {
		return nil, &CDRError{Rows: []RowError{{Line: maxBatch + 1, Err: fmt.Sprintf("more than %d rows in one batch: split it", maxBatch)}}}
	}
	out := make([]CDR, 0, len(in))
	var bad []RowError
	for i, j := range in {
		var c CDR
		var err error
		if c.Calling, err = e164.Parse(j.Calling); err != nil {
			bad = append(bad, RowError{Line: i + 1, Err: "calling: " + err.Error()})
			continue
		}
		if c.Called, err = e164.ParseDialled(j.Called); err != nil {
			bad = append(bad, RowError{Line: i + 1, Err: "called: " + err.Error()})
			continue
		}
		if c.Start, err = parseStart([]byte(j.Start)); err != nil {
			bad = append(bad, RowError{Line: i + 1, Err: err.Error()})
			continue
		}
		c.Seconds = j.Duration
		out = append(out, c)
	}
	if len(bad) > 0 {
		return nil, &CDRError{Rows: bad}
	}
	return out, nil
}
