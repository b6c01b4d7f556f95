package store

// CSV list format (import and export):
//
//	owner,list,number[,note]
//
//	owner   a subscriber number in any form e164.Parse accepts, a subscriber
//	        name, or "provider:NAME" for a provider-wide list
//	list    "vip" or "blocked" (any case), for subscribers and providers alike
//	number  the listed caller, in any form e164.Parse accepts
//	note    optional free text, at most MaxNoteLen bytes, no control characters
//
// RFC 4180 quoting applies (a note may contain commas when quoted). A first
// row "owner,list,number[,note]" is a header and skipped; lines starting with
// '#' are comments; blank lines are ignored; a UTF-8 byte-order mark is
// tolerated. Export writes the header, owners as "+E.164" (the subscriber's
// first number) or "provider:NAME", numbers as "+E.164", so an export
// re-imports to the same lists.
//
// Each bad row is reported with its line number and reason. What happens to
// the good rows depends on the mode:
//
//   - merge (the default): the good rows are imported. Merging only adds
//     entries or rewrites their notes, so the rows left out change nothing
//     that was there, and importing the corrected file again is safe.
//   - Replace: nothing is changed (ImportReport.Refused). A list replaced
//     by the good rows alone would lose the entries the bad rows name, so
//     a replace is all or nothing.
//
// Import works in two phases:
// the file is read and validated as a stream (no lock held, so the daemon
// keeps serving and accepting writes), then the rows are sorted and
// written: in one transaction if they fit etcd's default limits, else
// staged under a new list generation and committed by one small
// transaction (listwrite.go). A process killed at any point therefore
// leaves either none or all of the import in the store, and never touches
// what was committed before. Memory is about 40 bytes per row plus the
// notes.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"callgate/e164"
	"callgate/store/kv"
)

// ImportPhase says what an import is doing when it reports progress.
type ImportPhase uint8

// Import phases.
const (
	PhaseRead   ImportPhase = iota + 1 // reading and validating: Done/Total in bytes (Total -1 if unknown)
	PhaseWrite                         // writing rows (staging them if large): Done/Total in rows
	PhaseCommit                        // committing (one small transaction); Done = Total = rows
)

func (p ImportPhase) String() string {
	switch p {
	case PhaseRead:
		return "reading"
	case PhaseWrite:
		return "writing"
	case PhaseCommit:
		return "committing"
	}
	return "unknown"
}

// ImportProgress is passed to ImportOptions.Progress.
type ImportProgress struct {
	Phase ImportPhase
	Done  int64
	Total int64
}

// ImportOptions tune Import.
type ImportOptions struct {
	Actor     Actor // who imports; rows outside its scope or locked lists are reported as errors
	Replace   bool  // each list named in the file is replaced by the file's rows instead of merged
	DryRun    bool  // validate and count only; nothing is written
	MaxErrors int   // row errors kept in the report (default 100); all are counted
	Size      int64 // input size in bytes if known, for progress (0 = unknown)
	// Progress, if set, is called from the importing goroutine about every
	// 256 KiB read and 64 Ki rows written, and at each phase change.
	Progress func(ImportProgress)
}

// RowError is one rejected row.
type RowError struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }

// ImportReport says what an import did.
type ImportReport struct {
	Rows       int        `json:"rows"`       // data rows read (no header, comments, blank lines)
	Valid      int        `json:"valid"`      // rows that passed validation
	Duplicates int        `json:"duplicates"` // valid rows repeating an earlier row's owner, list and number (the later note wins)
	Added      int        `json:"added"`      // entries that were not on their list before
	Updated    int        `json:"updated"`    // entries already on their list (note rewritten)
	Removed    int        `json:"removed"`    // entries dropped by Replace
	Lists      int        `json:"lists"`      // distinct lists touched
	ErrorCount int        `json:"error_count"`
	Errors     []RowError `json:"errors,omitempty"` // the first MaxErrors row errors
	// Refused is set when a Replace import had bad rows and so changed
	// nothing (the counts of changes above are then zero).
	Refused bool `json:"refused,omitempty"`
}

// errReplaceRefused rolls back a Replace import whose rows turned bad while
// it was written (an owner deleted meanwhile).
var errReplaceRefused = errors.New("replace refused: bad rows")

// refuse marks rep as a Replace import that changed nothing.
func (rep *ImportReport) refuse() {
	rep.Added, rep.Updated, rep.Removed, rep.Lists = 0, 0, 0, 0
	rep.Refused = true
}

// staged is one validated row awaiting the write phase.
type staged struct {
	grp     uint64 // kind<<40 | owner<<8 | list: sorts like the entries key prefix
	num     e164.Number
	line    uint32 // tiebreak: the later row of duplicates wins
	noteOff uint32
	noteLen uint8
}

func makeGrp(kind byte, owner uint32, list List) uint64 {
	return uint64(kind)<<40 | uint64(owner)<<8 | uint64(list)
}

func splitGrp(g uint64) (kind byte, owner uint32, list List) {
	return byte(g >> 40), uint32(g >> 8), List(g)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Import reads list rows in the CSV format above. A returned error means
// nothing was written (the input could not be read, the store is closed or
// read-only, or the transaction failed); row problems are in the report
// (and with Replace, any of them means nothing was written: Refused).
func (s *Store) Import(r io.Reader, opts ImportOptions) (ImportReport, error) {
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	var rep ImportReport
	if opts.Actor.Role == 0 {
		return rep, fmt.Errorf("import: %w: no actor given (use store.Operator for operator imports)", ErrForbidden)
	}
	if !opts.DryRun {
		s.wmu.Lock()
		err := s.writable()
		s.wmu.Unlock()
		if err != nil {
			return rep, fmt.Errorf("import: %w", err)
		}
	}
	rows, notes, err := s.importRead(r, &opts, &rep)
	if err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	// Sort into key order; equal (owner, list, number) keep file order so
	// the last duplicate wins.
	slices.SortFunc(rows, func(a, b staged) int {
		switch {
		case a.grp != b.grp:
			return cmpU64(a.grp, b.grp)
		case a.num != b.num:
			return cmpU64(uint64(a.num), uint64(b.num))
		}
		return cmpU64(uint64(a.line), uint64(b.line))
	})
	j := 0
	for i := range rows {
		if j > 0 && rows[j-1].grp == rows[i].grp && rows[j-1].num == rows[i].num {
			rows[j-1] = rows[i]
			rep.Duplicates++
			continue
		}
		rows[j] = rows[i]
		j++
	}
	rows = rows[:j]
	if opts.Replace && rep.ErrorCount > 0 {
		rep.refuse()
		return rep, nil
	}
	if opts.DryRun {
		s.ix.mu.RLock()
		s.planImport(rows, opts.Replace, opts.MaxErrors, &rep)
		s.ix.mu.RUnlock()
		return rep, nil
	}
	if err := s.importWrite(rows, notes, &opts, &rep); err != nil {
		if errors.Is(err, errReplaceRefused) {
			return rep, nil
		}
		return rep, fmt.Errorf("import: %w", err)
	}
	return rep, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// importRead parses and validates the stream into staged rows.
func (s *Store) importRead(r io.Reader, opts *ImportOptions, rep *ImportReport) ([]staged, []byte, error) {
	cr := &countingReader{r: r}
	cv := csv.NewReader(bufio.NewReaderSize(cr, 256<<10))
	cv.Comment = '#'
	cv.FieldsPerRecord = -1
	cv.ReuseRecord = true
	cv.TrimLeadingSpace = true

	total := opts.Size
	if total <= 0 {
		total = -1
	}
	report := func(ph ImportPhase, done, tot int64) {
		if opts.Progress != nil {
			opts.Progress(ImportProgress{ph, done, tot})
		}
	}
	report(PhaseRead, 0, total)
	var lastReport int64

	var (
		rows  []staged
		notes []byte
		// Files are usually grouped by owner: remember the last resolution.
		resolved  bool
		lastOwner string
		lastRef   ownerRef
		lastErr   error
		authDone  [3]bool
		authErr   [3]error
	)
	fail := func(line int, format string, args ...any) {
		addRowError(&rep.ErrorCount, &rep.Errors, opts.MaxErrors, line, format, args...)
	}
	progress := func() {
		if cr.n-lastReport >= 256<<10 {
			lastReport = cr.n
			report(PhaseRead, cr.n, total)
		}
	}
	in := csvRows{cv: cv, isHeader: func(rec []string) bool {
		return len(rec) >= 3 && strings.EqualFold(strings.TrimSpace(rec[0]), "owner") &&
			strings.EqualFold(strings.TrimSpace(rec[1]), "list")
	}}
	bad := func(line int, err error) {
		progress()
		rep.Rows++
		fail(line, "%v", err)
	}
	for {
		rec, line, err := in.next(bad)
		if err == io.EOF {
			break
		}
		progress()
		if err != nil {
			return nil, nil, fmt.Errorf("read CSV after %d bytes: %w", cr.n, err)
		}
		rep.Rows++
		if len(rec) < 3 || len(rec) > 4 {
			fail(line, "%d fields, want owner,list,number[,note]", len(rec))
			continue
		}
		if !resolved || rec[0] != lastOwner {
			resolved, lastOwner = true, strings.Clone(rec[0])
			s.ix.mu.RLock()
			lastRef, lastErr = s.ix.resolveOwnerAs(opts.Actor, lastOwner)
			s.ix.mu.RUnlock()
			authDone = [3]bool{}
		}
		if lastErr != nil {
			fail(line, "owner %q: %v", truncate(rec[0]), lastErr)
			continue
		}
		list, err := ParseList(rec[1])
		if err != nil {
			fail(line, "%v", err)
			continue
		}
		if err := lastRef.checkList(list); err != nil {
			fail(line, "%v", err)
			continue
		}
		if !authDone[list] {
			s.ix.mu.RLock()
			authErr[list] = s.ix.authorize(opts.Actor, lastRef.kind, lastRef.id, listPerm(list))
			s.ix.mu.RUnlock()
			authDone[list] = true
		}
		if authErr[list] != nil {
			fail(line, "%s list of %s: %v", list, lastRef, authErr[list])
			continue
		}
		num, err := e164.Parse(strings.TrimSpace(rec[2]))
		if err != nil {
			fail(line, "number: %v", trimQuoted(err, rec[2]))
			continue
		}
		st := staged{grp: makeGrp(lastRef.kind, lastRef.id, list), num: num, line: uint32(line)}
		if len(rec) == 4 {
			note, err := checkNote(rec[3])
			if err != nil {
				fail(line, "%v", err)
				continue
			}
			st.noteOff, st.noteLen = uint32(len(notes)), uint8(len(note))
			if len(notes)+len(note) > 1<<32-1 {
				return nil, nil, fmt.Errorf("line %d: notes exceed 4 GiB; split the file", line)
			}
			notes = append(notes, note...)
		}
		rep.Valid++
		rows = append(rows, st)
	}
	report(PhaseRead, cr.n, cr.n)
	return rows, notes, nil
}

// truncate shortens echoed input so a hostile row cannot bloat the report.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// trimQuoted keeps e164's error but bounds the echoed input.
func trimQuoted(err error, in string) error {
	if len(in) <= 64 {
		return err
	}
	return fmt.Errorf("%q...: %w", in[:64], errors.Unwrap(err))
}

// listPlan is the outcome of an import for one (owner, list).
type listPlan struct {
	grp        uint64
	rows       []staged // sorted, unique
	dst        *memberList
	newList    []e164.Number
	ownerGone  bool
	replaceOld bool
}

// planImport groups sorted rows per list and computes each list's new index
// slice and the report counts. Caller holds the writer lock or ix.mu.RLock.
func (s *Store) planImport(rows []staged, replace bool, maxErrors int, rep *ImportReport) []listPlan {
	var plans []listPlan
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].grp == rows[i].grp {
			j++
		}
		p := listPlan{grp: rows[i].grp, rows: rows[i:j], replaceOld: replace}
		kind, owner, list := splitGrp(p.grp)
		dst, err := s.ix.listSlice(kind, owner, list)
		if err != nil {
			// Deleted between validation and writing.
			p.ownerGone = true
			for _, r := range p.rows {
				rep.Valid--
				addRowError(&rep.ErrorCount, &rep.Errors, maxErrors, int(r.line), "owner was deleted during the import")
			}
			plans = append(plans, p)
			i = j
			continue
		}
		p.dst = dst
		nums := make([]e164.Number, len(p.rows))
		for k, r := range p.rows {
			nums[k] = r.num
		}
		old := dst.rows
		present := len(old) + len(nums) - unionLen(old, nums)
		rep.Updated += present
		rep.Added += len(nums) - present
		if replace {
			rep.Removed += len(old) - present
			p.newList = nums
		} else {
			p.newList = mergeSorted(old, nums)
		}
		rep.Lists++
		plans = append(plans, p)
		i = j
	}
	return plans
}

// unionLen returns |a ∪ b| for sorted, duplicate-free a and b.
func unionLen(a, b []e164.Number) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			i++
			j++
		}
		n++
	}
	return n + len(a) - i + len(b) - j
}

// importWrite writes the planned rows (see writeLists: one transaction if
// they fit, else staged under a new generation and committed with one).
func (s *Store) importWrite(rows []staged, notes []byte, opts *ImportOptions, rep *ImportReport) error {
	counts := *rep
	plan := func() ([]*listEdit, error) {
		counts = *rep
		plans := s.planImport(rows, opts.Replace, opts.MaxErrors, &counts)
		if opts.Replace && counts.ErrorCount > 0 {
			return nil, errReplaceRefused // an owner was deleted meanwhile
		}
		edits := make([]*listEdit, 0, len(plans))
		for _, p := range plans {
			if p.ownerGone {
				continue
			}
			kind, owner, list := splitGrp(p.grp)
			l := listKey{kind, owner, list}
			touched := make([]e164.Number, len(p.rows))
			for i, r := range p.rows {
				touched[i] = r.num
			}
			prows := p.rows
			edits = append(edits, &listEdit{l: l, name: s.ix.ownerName(kind, owner), meta: *s.ix.listMeta(l),
				old: p.dst.rows, next: p.newList, touched: touched, replaceNotes: p.replaceOld,
				noteOf: func(i int) string {
					r := prows[i]
					return string(notes[r.noteOff : r.noteOff+uint32(r.noteLen)])
				}})
		}
		return edits, nil
	}
	err := s.writeLists(plan, &listAudit{opts.Actor, "list.import"}, opts.Progress)
	if errors.Is(err, errReplaceRefused) {
		*rep = counts
		rep.refuse()
		return err
	}
	if err != nil {
		return err
	}
	*rep = counts
	return nil
}

// ExportOptions select what Export writes.
type ExportOptions struct {
	Owner string // "" = every owner; else a subscriber name/number or "provider:NAME"
	List  List   // 0 = both lists
}

// Export writes list rows in the CSV format above, from one consistent
// snapshot, and returns how many rows it wrote.
func (s *Store) Export(w io.Writer, opts ExportOptions) (int, error) {
	if opts.List != 0 && !opts.List.valid() {
		return 0, fmt.Errorf("export: list %d: %w", opts.List, ErrInvalid)
	}
	var prefix []byte
	if opts.Owner != "" {
		s.ix.mu.RLock()
		o, err := s.ix.resolveOwner(opts.Owner)
		s.ix.mu.RUnlock()
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		prefix = listKey{o.kind, o.id, opts.List}.bytes()[:5]
		if opts.List != 0 {
			prefix = listKey{o.kind, o.id, opts.List}.bytes()
		}
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	cw := csv.NewWriter(bw)
	n := 0
	err := s.kv.View(func(r kv.Reader) error {
		if err := cw.Write([]string{"owner", "list", "number", "note"}); err != nil {
			return err
		}
		gens, err := effectiveGens(r)
		if err != nil {
			return err
		}
		start, end := bucketPrefix(bEntries), prefixEnd(bucketPrefix(bEntries))
		if prefix != nil {
			start = key(bEntries, prefix...)
			end = prefixEnd(start)
		}
		// Notes are walked alongside the rows: both are in key order.
		noteNext, noteStop := iter.Pull2(func(yield func([]byte, []byte) bool) {
			p, ep := bucketPrefix(bNotes), len(bucketPrefix(bEntries))
			nstart := key(bNotes, start[ep:]...)
			_ = r.Range(nstart, prefixEnd(nstart), func(k, v []byte, _ int64) error {
				if !yield(k[len(p):], v) {
					return errStop
				}
				return nil
			})
		})
		defer noteStop()
		noteKey, noteVal, _ := noteNext()
		var (
			curList  [6]byte
			ownerStr string
			skip     bool
			rec      = make([]string, 4)
			numBuf   []byte
			rowKey   = make([]byte, 22)
		)
		p := len(bucketPrefix(bEntries))
		return r.Range(start, end, func(fk, v []byte, _ int64) error {
			k := fk[p:]
			if len(k) != 22 {
				return fmt.Errorf("entries key %x: bad length", k)
			}
			if ownerStr == "" && !skip || string(k[:6]) != string(curList[:]) {
				copy(curList[:], k[:6])
				l, err := parseListKey(k)
				if err != nil {
					return err
				}
				skip = opts.List != 0 && l.list != opts.List
				if !skip {
					ownerStr, err = exportOwner(r, l.kind, l.owner)
					if errors.Is(err, ErrNotFound) {
						skip = true // rows of a deleted owner: garbage
					} else if err != nil {
						return err
					}
				}
			}
			if skip || binary.BigEndian.Uint64(k[6:14]) != gens[[6]byte(k[:6])] {
				return nil // not the list's effective generation
			}
			copy(rowKey, k[:14])
			for i := 0; i+8 <= len(v); i += 8 {
				copy(rowKey[14:], v[i:i+8])
				for noteKey != nil && bytes.Compare(noteKey, rowKey) < 0 {
					noteKey, noteVal, _ = noteNext()
				}
				note := ""
				if noteKey != nil && bytes.Equal(noteKey, rowKey) {
					note = string(noteVal)
				}
				numBuf = e164.Number(binary.BigEndian.Uint64(v[i:])).AppendTo(numBuf[:0])
				rec[0], rec[1], rec[2], rec[3] = ownerStr, List(k[5]).String(), string(numBuf), note
				if err := cw.Write(rec); err != nil {
					return err
				}
				n++
			}
			return nil
		})
	})
	if err == nil {
		cw.Flush()
		if err = cw.Error(); err == nil {
			err = bw.Flush()
		}
	}
	if err != nil {
		return n, fmt.Errorf("export after %d rows: %w", n, err)
	}
	return n, nil
}

// effectiveGens returns, from a snapshot, each list's effective generation
// where it is not 0: the committed generation marking it that was
// committed last.
func effectiveGens(r kv.Reader) (map[[6]byte]uint64, error) {
	committed := map[uint64]int64{}
	err := rangeBucket(r, bGens, func(k, _ []byte, mod int64) error {
		g, err := decodeU64(k)
		committed[g] = mod
		return err
	})
	if err != nil {
		return nil, err
	}
	out, at := map[[6]byte]uint64{}, map[[6]byte]int64{}
	err = rangeBucket(r, bMarks, func(k, _ []byte, _ int64) error {
		l, g, err := parseMark(k)
		if err != nil {
			return err
		}
		lk := [6]byte(l.bytes())
		if rev, ok := committed[g]; ok && rev > at[lk] {
			out[lk], at[lk] = g, rev
		}
		return nil
	})
	return out, err
}

// exportOwner names a list owner the way Import reads it, from the
// snapshot being exported.
func exportOwner(r kv.Reader, kind byte, id uint32) (string, error) {
	switch kind {
	case kindProvider:
		var p Provider
		if err := getJSON(r, idKey(bProviders, id), &p); err != nil {
			return "", err
		}
		return ProviderPrefix + p.Name, nil
	case kindSubscriber:
		var sub Subscriber
		if err := getJSON(r, idKey(bSubscribers, id), &sub); err != nil {
			return "", err
		}
		if len(sub.Numbers) > 0 {
			return sub.Numbers[0].String(), nil
		}
		return sub.Name, nil
	}
	return "", fmt.Errorf("entries owner kind %q unknown", kind)
}

func getJSON(r kv.Reader, k []byte, v any) error {
	data, mod, err := r.Get(k)
	if err != nil {
		return err
	}
	if mod == 0 {
		return fmt.Errorf("record %q: %w", k, ErrNotFound)
	}
	return json.Unmarshal(data, v)
}
