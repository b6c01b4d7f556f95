package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"callgate/e164"
)

// Bulk subscriber provisioning: a provider's whole customer base (1M
// subscribers and more) from one CSV file.
//
//	name,provider,numbers[,permissions]
//
//	name         the new subscriber's name (as for CreateSubscriber)
//	provider     the provider it belongs to
//	numbers      one or more numbers separated by spaces or ';', each in the
//	             provider's allocations and nobody's yet
//	permissions  optional: what the subscriber may change itself, as for
//	             ParsePermissions ("all", "none", "vip,blocked,pin");
//	             empty: the provider's default permissions
//
// A first row "name,provider,..." is a header; lines starting with '#' are
// comments; blank lines are ignored.
//
// The import is all or nothing for its input: every row is validated
// first, against the index and against the other rows (duplicate names or
// numbers within the file), and any bad row refuses the whole file with
// each bad row's line number and reason; nothing is written. DryRun stops
// there. A valid file is then written under the writer lock (no other
// write on this node interleaves, so what was validated still holds) in
// transactions as large as the backend allows (BulkLoad: a few hundred
// thousand subscribers per bbolt transaction, not one per subscriber), and
// the last one carries a single audit record for the whole import (counts
// and the file's SHA-256) instead of one per subscriber.
//
// Unlike a list import, the subscriber records are not staged under a
// generation: a backend failure or a crash while writing leaves the
// batches committed so far (each complete: subscriber, numbers, name) and
// the import reports how many. See SubscriberImportReport.Written.

// SubscriberImportOptions control ImportSubscribers.
type SubscriberImportOptions struct {
	Actor     Actor // the operator, or a provider importing its own subscribers
	DryRun    bool  // validate only
	MaxErrors int   // most row errors kept in the report (0 = 100); all are counted
}

// SubscriberImportReport says what ImportSubscribers found and did.
type SubscriberImportReport struct {
	Rows        int        `json:"rows"`        // data rows read
	Valid       int        `json:"valid"`       // rows that passed validation
	Numbers     int        `json:"numbers"`     // numbers the valid rows assign
	ErrorCount  int        `json:"error_count"` // bad rows (all of them)
	Errors      []RowError `json:"errors,omitempty"`
	Refused     bool       `json:"refused"`     // bad rows: nothing was written
	Written     int        `json:"written"`     // subscribers created
	SHA256      string     `json:"sha256"`      // digest of the file as read
	DryRun      bool       `json:"dry_run"`     // validated only
	Subscribers int        `json:"subscribers"` // subscribers the store holds afterwards
}

// subImportRow is one validated row, kept until the write.
type subImportRow struct {
	name     string
	provider string
	numbers  []string // canonical +E.164
	perm     Permission
	permSet  bool
}

// subImportAudit is the one audit record of an import.
type subImportAudit struct {
	Subscribers int    `json:"subscribers"`
	Numbers     int    `json:"numbers"`
	Providers   int    `json:"providers"`
	SHA256      string `json:"sha256"`
}

// ImportSubscribers creates subscribers from CSV (format above).
func (s *Store) ImportSubscribers(r io.Reader, opts SubscriberImportOptions) (SubscriberImportReport, error) {
	var rep SubscriberImportReport
	rep.DryRun = opts.DryRun
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	if err := s.writable(); err != nil && !opts.DryRun {
		return rep, fmt.Errorf("import subscribers: %w", err)
	}
	// Validation and write run under the writer lock, so the index the
	// rows are checked against is the one they are written over.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	rows, provs, err := s.validateSubscriberRows(r, opts, &rep)
	if err != nil {
		return rep, fmt.Errorf("import subscribers: %w", err)
	}
	if rep.ErrorCount > 0 {
		rep.Refused = true
		return rep, nil
	}
	if opts.DryRun || len(rows) == 0 {
		return rep, nil
	}
	err = s.bulkLoadLocked(func(l *BulkLoader) error {
		l.final = func(t *txn) error {
			return t.audit(opts.Actor, "subscriber.import", fmt.Sprintf("subscribers (%d)", len(rows)), auditScope{}, nil,
				subImportAudit{Subscribers: len(rows), Numbers: rep.Numbers, Providers: provs, SHA256: rep.SHA256})
		}
		for i := range rows {
			row := &rows[i]
			spec := SubscriberSpec{Name: row.name, Provider: row.provider, Numbers: row.numbers}
			if row.permSet {
				spec.Permissions = &row.perm
			}
			if _, err := l.CreateSubscriber(spec); err != nil {
				return err
			}
			rows[i] = subImportRow{} // let the row go once planned
		}
		return nil
	})
	s.ix.mu.RLock()
	rep.Subscribers = len(s.ix.subByName)
	s.ix.mu.RUnlock()
	if err != nil {
		return rep, fmt.Errorf("import subscribers: %w", err)
	}
	rep.Written = rep.Valid
	return rep, nil
}

// validateSubscriberRows reads and checks every row. Caller holds wmu.
// It returns the valid rows and how many providers they name.
func (s *Store) validateSubscriberRows(r io.Reader, opts SubscriberImportOptions, rep *SubscriberImportReport) ([]subImportRow, int, error) {
	h := sha256.New()
	cv := csv.NewReader(bufio.NewReaderSize(io.TeeReader(r, h), 256<<10))
	cv.FieldsPerRecord = -1
	cv.Comment = '#'
	cv.ReuseRecord = true
	fail := func(line int, format string, a ...any) {
		addRowError(&rep.ErrorCount, &rep.Errors, opts.MaxErrors, line, format, a...)
	}
	names := map[string]int{}        // name -> line, within the file
	numbers := map[e164.Number]int{} // number -> line, within the file
	provErr := map[string]error{}    // provider -> refusal (nil: fine)
	provID := map[string]uint32{}    // provider -> id
	var rows []subImportRow
	var scratch txn
	in := csvRows{cv: cv, isHeader: func(rec []string) bool {
		return len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "name") &&
			strings.EqualFold(strings.TrimSpace(rec[1]), "provider")
	}}
	bad := func(line int, err error) {
		rep.Rows++
		fail(line, "%v", err)
	}
	for {
		rec, line, err := in.next(bad)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read CSV: %w", err)
		}
		rep.Rows++
		if len(rec) < 3 || len(rec) > 4 {
			fail(line, "%d fields, want name,provider,numbers[,permissions]", len(rec))
			continue
		}
		name, prov := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if err := validName("subscriber", name); err != nil {
			fail(line, "%v", err)
			continue
		}
		if at, dup := names[name]; dup {
			fail(line, "subscriber %s: also on line %d (names are unique)", truncate(name), at)
			continue
		}
		perr, seen := provErr[prov]
		if !seen {
			s.ix.mu.RLock()
			p, err := s.ix.providerByName(prov)
			if err == nil && s.ix.mayProvider(opts.Actor, p) != nil {
				// Out of scope reads as unknown: a tenant cannot learn
				// whether another provider exists.
				err = ErrNotFound
			}
			if err == nil {
				provID[prov] = p.rec.ID
			}
			s.ix.mu.RUnlock()
			perr, provErr[prov] = err, err
		}
		if perr != nil {
			fail(line, "provider (column 2): %v (or not yours to provision)", ErrNotFound)
			continue
		}
		row := subImportRow{name: strings.Clone(name), provider: strings.Clone(prov)}
		if len(rec) == 4 && strings.TrimSpace(rec[3]) != "" {
			p, err := ParsePermissions(rec[3])
			if err != nil {
				fail(line, "permissions: %v", err)
				continue
			}
			row.perm, row.permSet = p, true
		}
		fields := strings.FieldsFunc(rec[2], func(c rune) bool { return c == ' ' || c == ';' })
		if len(fields) == 0 {
			fail(line, "subscriber %s: no numbers (at least one needed)", name)
			continue
		}
		bad := false
		s.ix.mu.RLock()
		for _, f := range fields {
			n, err := e164.Parse(f)
			if err != nil {
				fail(line, "number: %v", trimQuoted(err, f))
				bad = true
				break
			}
			if at, dup := numbers[n]; dup {
				fail(line, "number %s: also on line %d", n, at)
				bad = true
				break
			}
			scratch.reset()
			if err := s.ix.checkNumberFree(&scratch, n, provID[prov], nil); err != nil {
				fail(line, "%v", err)
				bad = true
				break
			}
			numbers[n] = line
			row.numbers = append(row.numbers, n.String())
		}
		if !bad {
			if _, exists := s.ix.subByName[name]; exists {
				fail(line, "subscriber %s: %v", name, ErrExists)
				bad = true
			}
		}
		s.ix.mu.RUnlock()
		if bad {
			continue
		}
		names[row.name] = line
		rep.Valid++
		rep.Numbers += len(row.numbers)
		rows = append(rows, row)
	}
	rep.SHA256 = hex.EncodeToString(h.Sum(nil))
	return rows, len(provID), nil
}
