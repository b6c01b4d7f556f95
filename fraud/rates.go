package fraud

import (
	"bytes"
	"callgate/store"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// RateMeta describes one version of the rate table.
type RateMeta struct {
	Version  uint32    `json:"version"`
	Imported time.Time `json:"imported"`
	Source   string    `json:"source,omitempty"`
	By       string    `json:"by,omitempty"`
	Rows     int       `json:"rows"`
	SHA256   string    `json:"sha256"` // of the rows in the stored CSV form
	Chunks   int       `json:"chunks"`
}

const (
	keyRatesMeta = "rates/meta"
	ratesRows    = "rates/rows/"
	ratesVersion = "rates/version/"
	// rowsPerChunk keeps each stored value well under a replicated
	// store's value limit (etcd: 1.5 MiB).
	rowsPerChunk = 5000
)

// Rates returns the rate table in force (nil before the first import).
func (m *Monitor) Rates() *RateTable { return m.rates.Load() }

// Destination implements policy.Classifier: the category of the longest
// matching rate table row as the engine's fraud step sees it, or
// DestinationUnknown (no opinion) when no row matches. The engine bars
// the stricter of this and its own reading of the number.
func (m *Monitor) Destination(n e164.Number) policy.Destination {
	if r := m.rates.Load().Lookup(n); r != nil {
		return r.Category.Destination()
	}
	return policy.DestinationUnknown
}

// ImportRates reads a CSV rate table and, unless dryRun, stores it as the
// next version and puts it in force for the calls that start from then
// on (calls in progress keep the price they started with). A bad file
// changes nothing: the error (*RatesError) lists every bad row.
func (m *Monitor) ImportRates(r io.Reader, source string, by store.Actor, dryRun bool) (RateMeta, error) {
	t, err := ParseRates(r)
	if err != nil {
		return RateMeta{}, err
	}
	m.ratesMu.Lock()
	defer m.ratesMu.Unlock()
	// The next version after the one in force here and the last stored
	// (another node's import this node has not read back yet).
	meta := RateMeta{Imported: m.clock.Now(), Source: source, By: actorText(by), Rows: t.Len(), Version: m.rates.Load().version() + 1}
	if stored, err := m.storedRatesMeta(); err != nil {
		return RateMeta{}, fmt.Errorf("rate table: %w", err)
	} else if stored != nil {
		meta.Version = max(meta.Version, stored.Version+1)
	}
	chunks, sum := encodeChunks(t)
	meta.SHA256, meta.Chunks = sum, len(chunks)
	if dryRun {
		meta.Version = 0
		return meta, nil
	}
	var ops []Op
	if err := m.state.Scan(ratesRows, func(k string, _ []byte) error {
		ops = append(ops, Op{Key: k, Delete: true})
		return nil
	}); err != nil {
		return RateMeta{}, fmt.Errorf("rate table: %w", err)
	}
	for i, c := range chunks {
		ops = append(ops, Op{Key: fmt.Sprintf("%s%06d", ratesRows, i), Value: c})
	}
	mv, _ := json.Marshal(meta)
	ops = append(ops, Op{Key: keyRatesMeta, Value: mv}, Op{Key: fmt.Sprintf("%s%08d", ratesVersion, meta.Version), Value: mv})
	e := Event{Time: meta.Imported, Kind: EventRates, Actor: meta.By, by: by,
		Detail: fmt.Sprintf("version %d, %d rows, from %s (sha256 %s)", meta.Version, meta.Rows, orDash(source), sum[:12])}
	ops = append(ops, m.record(&e)...)
	if err := m.writeEvent(ops, &e); err != nil {
		m.st.writeErrors.Add(1)
		return RateMeta{}, fmt.Errorf("rate table version %d: not stored, version %d stays in force (a store on etcd takes a table of at most about 1.4 MB of rows in one transaction): %w", meta.Version, m.rates.Load().version(), err)
	}
	t.Version, t.Imported, t.Source, t.By = meta.Version, meta.Imported, source, meta.By
	m.rates.Store(t)
	m.announce(&e)
	return meta, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// encodeChunks writes t's rows as CSV chunks and their SHA-256.
func encodeChunks(t *RateTable) ([][]byte, string) {
	h := sha256.New()
	var chunks [][]byte
	rows := t.Rows()
	for i := 0; i < len(rows); i += rowsPerChunk {
		part := &RateTable{rates: rows[i:min(i+rowsPerChunk, len(rows))]}
		var b bytes.Buffer
		_ = part.WriteCSV(&b)
		h.Write(b.Bytes())
		chunks = append(chunks, b.Bytes())
	}
	return chunks, hex.EncodeToString(h.Sum(nil))
}

// storedRatesMeta reads the stored description of the table in force (nil
// before the first import).
func (m *Monitor) storedRatesMeta() (*RateMeta, error) {
	v, ok, err := m.state.Get(keyRatesMeta)
	if err != nil || !ok {
		return nil, err
	}
	var meta RateMeta
	if err := json.Unmarshal(v, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", keyRatesMeta, err)
	}
	return &meta, nil
}

// syncRates puts in force the table stored since this node read it:
// another node's import (a cluster).
func (m *Monitor) syncRates() error {
	meta, err := m.storedRatesMeta()
	if err != nil || meta == nil {
		return err
	}
	if t := m.rates.Load(); t != nil && t.Version == meta.Version {
		return nil
	}
	m.ratesMu.Lock()
	defer m.ratesMu.Unlock()
	if t := m.rates.Load(); t != nil && t.Version == meta.Version {
		return nil // imported here meanwhile
	}
	if err := m.loadRates(); err != nil {
		return err
	}
	m.log.Info("fraud: rate table imported on another node put in force", "version", meta.Version, "rows", meta.Rows, "by", meta.By)
	return nil
}

// loadRates reads the table in force from state.
func (m *Monitor) loadRates() error {
	v, ok, err := m.state.Get(keyRatesMeta)
	if err != nil || !ok {
		return err
	}
	var meta RateMeta
	if err := json.Unmarshal(v, &meta); err != nil {
		return fmt.Errorf("%s: %w", keyRatesMeta, err)
	}
	var all strings.Builder
	h := sha256.New()
	n := 0
	err = m.state.Scan(ratesRows, func(k string, v []byte) error {
		h.Write(v)
		if n > 0 {
			// every chunk starts with its own header line
			if i := bytes.IndexByte(v, '\n'); i >= 0 {
				v = v[i+1:]
			}
		}
		all.Write(v)
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n != meta.Chunks || hex.EncodeToString(h.Sum(nil)) != meta.SHA256 {
		return fmt.Errorf("rate table version %d: stored rows do not match their checksum (%d of %d chunks): import the table again", meta.Version, n, meta.Chunks)
	}
	t, err := ParseRates(strings.NewReader(all.String()))
	if err != nil {
		return fmt.Errorf("rate table version %d as stored: %w", meta.Version, err)
	}
	t.Version, t.Imported, t.Source, t.By = meta.Version, meta.Imported, meta.Source, meta.By
	m.rates.Store(t)
	return nil
}

// RateVersions lists every imported version, oldest first.
func (m *Monitor) RateVersions() ([]RateMeta, error) {
	var out []RateMeta
	err := m.state.Scan(ratesVersion, func(k string, v []byte) error {
		var meta RateMeta
		if err := json.Unmarshal(v, &meta); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		out = append(out, meta)
		return nil
	})
	return out, err
}
