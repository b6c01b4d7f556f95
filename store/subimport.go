package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

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
// The import is all or nothing, even across a crash. The file is read
// once, as a stream: every row is validated against the index and against
// the other rows (duplicate names or numbers within the file), and any bad
// row refuses the whole file with each bad row's line number and reason;
// nothing is written. DryRun stops there. A valid file is then written
// under an import generation (subimport_stage.go): one small transaction
// reserves the subscribers' IDs and records the import as uncommitted;
// the records, names and numbers follow in transactions as large as the
// backend allows, which nobody reads (the index leaves out every
// subscriber in the range of an uncommitted import); one small transaction
// commits the import and carries its single audit record (counts and the
// file's SHA-256), and the change feed then adds every subscriber at once.
// A process that dies before that commit leaves only garbage, which
// CollectGarbage removes. The file is read without the writer lock (an
// upload may be slow; other writes go on); the rows are then checked
// against the index again under the lock, which the write keeps: no other
// write on this node interleaves, and other nodes' changes that would
// invalidate the rows make the import fail whole (its batches and commit
// compare what the second check read).
//
// Memory is what the index will hold for the new subscribers (about 300
// bytes each) plus the file's names and numbers once, for the duplicate
// checks.

// SubscriberImportOptions control ImportSubscribers.
type SubscriberImportOptions struct {
	Actor     Actor // the operator, or a provider importing its own subscribers
	DryRun    bool  // validate only
	MaxErrors int   // most row errors kept in the report (0 = 100); all are counted
	Size      int64 // input size in bytes if known, for progress (0 = unknown)
	// Progress, if set, is called from the importing goroutine about every
	// 256 KiB read and every batch written, and at each phase change (as
	// ImportOptions.Progress: bytes while reading, subscribers while
	// writing).
	Progress func(ImportProgress)
	// OnError, if set, is told about each bad row as it is found (all of
	// them; the report keeps the first MaxErrors).
	OnError func(RowError)
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
	Subscribers int        `json:"subscribers"` // subscribers the actor may see afterwards (a provider: its own)
}

// subImportAudit is the one audit record of an import.
type subImportAudit struct {
	Subscribers int    `json:"subscribers"`
	Numbers     int    `json:"numbers"`
	Providers   int    `json:"providers"`
	SHA256      string `json:"sha256"`
	Generation  uint64 `json:"generation"`
}

// ImportSubscribers creates subscribers from CSV (format above). A
// returned error means nothing was imported (the input could not be read,
// the store refused the write, or the import failed while writing and was
// abandoned); bad rows are in the report (Refused).
func (s *Store) ImportSubscribers(r io.Reader, opts SubscriberImportOptions) (SubscriberImportReport, error) {
	var rep SubscriberImportReport
	rep.DryRun = opts.DryRun
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	if opts.Actor.Role == 0 {
		return rep, fmt.Errorf("import subscribers: %w: no actor given (use store.Operator for operator imports)", ErrForbidden)
	}
	// The file is read and checked without the writer lock: it may take
	// as long as its sender (a client uploading over a slow link) while
	// other writes go on. The rows are checked against the index again
	// under the lock, which the write then keeps.
	if !opts.DryRun {
		if err := s.writableNow(); err != nil {
			return rep, fmt.Errorf("import subscribers: %w", err)
		}
	}
	v := newSubValidator(s, &opts, &rep)
	if err := v.read(r); err != nil {
		return rep, fmt.Errorf("import subscribers: %w", err)
	}
	if rep.ErrorCount > 0 {
		rep.Refused = true
		return rep, nil
	}
	if !opts.DryRun && v.rows.n > 0 {
		s.wmu.Lock()
		err := s.writable()
		if err == nil {
			err = v.recheck()
		}
		if err == nil && rep.ErrorCount > 0 {
			s.wmu.Unlock()
			rep.Refused = true
			return rep, nil
		}
		if err == nil {
			err = s.stageSubscribers(v, &opts, &rep)
		}
		s.wmu.Unlock()
		if err != nil {
			return rep, fmt.Errorf("import subscribers: %w", err)
		}
		rep.Written = rep.Valid
	}
	// What the actor may see: a provider learns its own count, never the
	// platform's.
	rep.Subscribers, _ = s.CountSubscribers(opts.Actor, "")
	return rep, nil
}

// subSlab is how many subscribers share one allocation.
const subSlab = 1 << 14

// subRows holds validated rows as the index will hold them: subStates in
// slabs (stable addresses, one allocation per slab), their numbers in
// shared arrays.
type subRows struct {
	slabs [][]subState
	lines []int32 // each row's line in the file
	n     int
	nums  []e164.Number // the array numbers are appended to
}

// add returns a new row.
func (r *subRows) add() *subState {
	if r.n%subSlab == 0 {
		r.slabs = append(r.slabs, make([]subState, subSlab))
	}
	st := &r.slabs[r.n/subSlab][r.n%subSlab]
	r.n++
	return st
}

// drop forgets the row add returned last.
func (r *subRows) drop() {
	r.n--
	r.slabs[r.n/subSlab][r.n%subSlab] = subState{}
}

// keep records the line of the row add returned last, which is good.
func (r *subRows) keep(line int) { r.lines = append(r.lines, int32(line)) }

func (r *subRows) at(i int) *subState { return &r.slabs[i/subSlab][i%subSlab] }

// numbers returns room for k more numbers of one row, in a shared array.
func (r *subRows) numbers(k int) []e164.Number {
	if cap(r.nums)-len(r.nums) < k {
		r.nums = make([]e164.Number, 0, max(4096, k))
	}
	start := len(r.nums)
	r.nums = r.nums[:start+k]
	return r.nums[start : start+k : start+k]
}

// subProvider is what the validation learnt about a provider named in the
// file.
type subProvider struct {
	err  error
	id   uint32
	mod  int64 // its record's mod revision, compared at the commit
	name string
	used bool // a good row names it
}

// subValidator reads and checks the rows of one import.
type subValidator struct {
	s    *Store
	opts *SubscriberImportOptions
	rep  *SubscriberImportReport
	rows subRows

	names    map[string]int32      // name -> line, within the file
	numbers  map[e164.Number]int32 // number -> line, within the file
	provs    map[string]*subProvider
	perms    map[string]Permission
	allocMod int64 // the allocation epoch the numbers were checked at
	created  time.Time
}

func newSubValidator(s *Store, opts *SubscriberImportOptions, rep *SubscriberImportReport) *subValidator {
	hint := 1024
	if opts.Size > 0 {
		// Rows are about 30 bytes (name, provider, one number); the maps
		// sized for them do not grow (and copy) twenty times.
		hint = int(min(opts.Size/30, 1<<24))
	}
	return &subValidator{s: s, opts: opts, rep: rep, names: make(map[string]int32, hint),
		numbers: make(map[e164.Number]int32, hint), provs: map[string]*subProvider{}, perms: map[string]Permission{},
		created: s.opts.Now().UTC()}
}

func (v *subValidator) fail(line int, format string, a ...any) {
	if v.opts.OnError == nil {
		addRowError(&v.rep.ErrorCount, &v.rep.Errors, v.opts.MaxErrors, line, format, a...)
		return
	}
	e := RowError{line, fmt.Sprintf(format, a...)}
	v.rep.ErrorCount++
	if len(v.rep.Errors) < v.opts.MaxErrors {
		v.rep.Errors = append(v.rep.Errors, e)
	}
	v.opts.OnError(e)
}

// read validates every row of r.
func (v *subValidator) read(r io.Reader) error {
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, h)}
	cv := csv.NewReader(bufio.NewReaderSize(cr, 256<<10))
	cv.FieldsPerRecord = -1
	cv.Comment = '#'
	cv.ReuseRecord = true
	in := csvRows{cv: cv, isHeader: func(rec []string) bool {
		return len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "name") &&
			strings.EqualFold(strings.TrimSpace(rec[1]), "provider")
	}}
	bad := func(line int, err error) {
		v.rep.Rows++
		v.fail(line, "%v", err)
	}
	total := v.opts.Size
	if total <= 0 {
		total = -1
	}
	progress := func() {
		if v.opts.Progress != nil {
			v.opts.Progress(ImportProgress{PhaseRead, cr.n, total})
		}
	}
	progress()
	v.s.ix.mu.RLock()
	v.allocMod = v.s.ix.allocMod
	v.s.ix.mu.RUnlock()
	next := int64(256 << 10)
	for {
		rec, line, err := in.next(bad)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}
		v.rep.Rows++
		v.row(rec, line)
		if cr.n >= next {
			progress()
			next = cr.n + 256<<10
		}
	}
	if total < 0 {
		total = cr.n
	}
	if v.opts.Progress != nil {
		v.opts.Progress(ImportProgress{PhaseRead, cr.n, total})
	}
	v.rep.SHA256 = hex.EncodeToString(h.Sum(nil))
	return nil
}

// row checks one row and keeps it if it is good.
func (v *subValidator) row(rec []string, line int) {
	if len(rec) < 3 || len(rec) > 4 {
		v.fail(line, "%d fields, want name,provider,numbers[,permissions]", len(rec))
		return
	}
	// The fields are substrings of one string the CSV reader allocates per
	// row; keeping the name keeps that string, instead of a copy.
	name, provName := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
	if err := validName("subscriber", name); err != nil {
		v.fail(line, "%v", err)
		return
	}
	if at, dup := v.names[name]; dup {
		v.fail(line, "subscriber %s: also on line %d (names are unique)", name, at)
		return
	}
	prov := v.provider(provName)
	if prov.err != nil {
		v.fail(line, "provider (column 2): %v (or not yours to provision)", ErrNotFound)
		return
	}
	st := v.rows.add()
	st.rec = Subscriber{Name: name, ProviderID: prov.id, Provider: prov.name, Created: v.created}
	ok := false
	defer func() {
		if !ok {
			v.rows.drop()
		}
	}()
	st.rec.Permissions = PermAll // replaced below; marks "not given" apart from none
	permGiven := false
	if len(rec) == 4 {
		if p := strings.TrimSpace(rec[3]); p != "" {
			perm, err := v.permissions(p)
			if err != nil {
				v.fail(line, "permissions: %v", err)
				return
			}
			st.rec.Permissions, permGiven = perm, true
		}
	}
	count := 0
	for f := range numberFields(rec[2]) {
		_ = f
		count++
	}
	if count == 0 {
		v.fail(line, "subscriber %s: no numbers (at least one needed)", name)
		return
	}
	nums := v.rows.numbers(count)
	i := 0
	ix := &v.s.ix
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for f := range numberFields(rec[2]) {
		n, err := e164.Parse(f)
		if err != nil {
			v.fail(line, "number: %v", trimQuoted(err, f))
			return
		}
		if at, dup := v.numbers[n]; dup {
			v.fail(line, "number %s: also on line %d", n, at)
			return
		}
		if err := ix.numberAssignable(v.opts.Actor, n, prov.id); err != nil {
			v.fail(line, "%v", err)
			return
		}
		for _, m := range nums[:i] {
			if m == n {
				v.fail(line, "number %s: twice in the row", n)
				return
			}
		}
		nums[i] = n
		i++
	}
	if _, exists := ix.subByName[name]; exists {
		v.fail(line, "subscriber %s: %v", name, ErrExists)
		return
	}
	if !permGiven {
		st.rec.Permissions = ix.provs[prov.id].rec.DefaultPermissions
	}
	st.rec.Numbers = nums
	for _, n := range nums {
		v.numbers[n] = int32(line)
	}
	v.names[name] = int32(line)
	v.rows.keep(line)
	prov.used = true
	v.rep.Valid++
	v.rep.Numbers += len(nums)
	ok = true
}

// provider looks a provider of the file up once.
func (v *subValidator) provider(name string) *subProvider {
	if p := v.provs[name]; p != nil {
		return p
	}
	ix := &v.s.ix
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := &subProvider{}
	p, err := ix.providerByName(name)
	if err == nil && ix.mayProvider(v.opts.Actor, p) != nil {
		// Out of scope reads as unknown: a tenant cannot learn whether
		// another provider exists.
		err = ErrNotFound
	}
	if err == nil {
		out.id, out.mod, out.name = p.rec.ID, p.mod, p.rec.Name
	}
	out.err = err
	if len(v.provs) < 1024 { // a file naming ever new providers cannot grow this without bound
		v.provs[strings.Clone(name)] = out
	}
	return out
}

// permissions parses a permissions field, once per distinct spelling.
func (v *subValidator) permissions(s string) (Permission, error) {
	if p, ok := v.perms[s]; ok {
		return p, nil
	}
	p, err := ParsePermissions(s)
	if err == nil && len(v.perms) < 256 {
		v.perms[strings.Clone(s)] = p
	}
	return p, err
}

// numberFields yields the numbers of a numbers field: separated by spaces
// or ';'.
func numberFields(s string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		start := -1
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == ' ' || s[i] == ';' || s[i] == '\t' {
				if start >= 0 && !yield(s[start:i]) {
					return
				}
				start = -1
			} else if start < 0 {
				start = i
			}
		}
	}
}

// recheck checks the good rows against the index once more, now that the
// caller holds the writer lock: the file was read without it, and another
// write may have taken a name or number, or changed an allocation, since.
// Such rows become row errors. A provider of the file changed meanwhile
// (its default permissions went into rows) fails the import. Caller holds
// wmu; what recheck sees is what the write's comparisons then guard.
func (v *subValidator) recheck() error {
	ix := &v.s.ix
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	v.allocMod = ix.allocMod
	for _, p := range v.provs {
		if !p.used {
			continue
		}
		if pr := ix.prov(p.id); pr == nil || pr.mod != p.mod {
			return fmt.Errorf("provider %s changed while the file was read: nothing was imported, import again", p.name)
		}
	}
	bad := 0
	for i := 0; i < v.rows.n; i++ {
		st := v.rows.at(i)
		line := int(v.rows.lines[i])
		err := error(nil)
		if _, exists := ix.subByName[st.rec.Name]; exists {
			err = fmt.Errorf("subscriber %s: %w (created while the file was read)", st.rec.Name, ErrExists)
		}
		for _, n := range st.rec.Numbers {
			if err != nil {
				break
			}
			if e := ix.numberAssignable(v.opts.Actor, n, st.rec.ProviderID); e != nil {
				err = fmt.Errorf("%w (changed while the file was read)", e)
			}
		}
		if err != nil {
			v.fail(line, "%v", err)
			bad++
		}
	}
	v.rep.Valid -= bad
	return nil
}
