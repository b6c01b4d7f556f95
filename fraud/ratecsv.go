package fraud

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"callgate/e164"
)

// The rate table's CSV form, one row a line (a first line starting with
// "prefix" is a header):
//
//	prefix,category,price_per_minute[,description]
//	1,domestic,0.005,US and Canada
//	1876,international,0.21,Jamaica
//	1900,premium,2.50,NANP premium rate
//
// prefix is E.164 digits, country code first (a leading '+' is allowed);
// category is domestic, mobile, international or premium; the price is a
// decimal in the account currency with at most six decimal places.

// RatesError is a refused import: every bad row, in file order. Nothing of
// the file was applied.
type RatesError struct {
	Rows []RowError
}

func (e *RatesError) Error() string {
	return rowErrorsMessage("rate table: %d bad row(s), nothing imported", e.Rows)
}

// maxRates bounds a table (a few hundred thousand rows is a large carrier
// table); maxDescription a row's description.
const (
	maxRates       = 1_000_000
	maxDescription = 200
)

// ParseRates reads a whole CSV rate table. Either every row is good and the
// table is returned, or the error is a *RatesError listing every bad row
// (line number and why) and there is no table: an import is never half
// applied.
func ParseRates(r io.Reader) (*RateTable, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	var (
		rows []Rate
		bad  []RowError
		seen = map[string]int{}
	)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, RowError{Line: pe.Line, Err: pe.Err.Error() + " (quote a field with \"...\", a quote inside it as \"\")"})
				continue
			}
			return nil, fmt.Errorf("rate table: read: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "prefix") {
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		rate, err := parseRateRow(rec)
		if err != nil {
			bad = append(bad, RowError{Line: line, Err: err.Error()})
			continue
		}
		if prev, dup := seen[rate.Prefix]; dup {
			bad = append(bad, RowError{Line: line, Err: fmt.Sprintf("prefix %s is already on line %d (one row a prefix)", rate.Prefix, prev)})
			continue
		}
		seen[rate.Prefix] = line
		if len(rows) == maxRates {
			bad = append(bad, RowError{Line: line, Err: fmt.Sprintf("more than %d rows", maxRates)})
			break
		}
		rows = append(rows, rate)
	}
	if len(bad) > 0 {
		return nil, &RatesError{Rows: bad}
	}
	if len(rows) == 0 {
		return nil, &RatesError{Rows: []RowError{{Line: 1, Err: "no rows (want prefix,category,price_per_minute[,description])"}}}
	}
	return newRateTable(rows), nil
}

// parseRateRow reads one row's fields.
func parseRateRow(rec []string) (Rate, error) {
	if len(rec) < 3 || len(rec) > 4 {
		return Rate{}, fmt.Errorf("%d fields: want prefix,category,price_per_minute[,description]", len(rec))
	}
	p := strings.TrimPrefix(strings.TrimSpace(rec[0]), "+")
	if p == "" {
		return Rate{}, errors.New("empty prefix (want E.164 digits, country code first, such as 44 or 1876)")
	}
	if len(p) > e164.MaxDigits {
		return Rate{}, fmt.Errorf("prefix %q: longer than %d digits", rec[0], e164.MaxDigits)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return Rate{}, fmt.Errorf("prefix %q: character %q is not a digit (want E.164 digits such as 44 or 1876)", rec[0], p[i])
		}
	}
	if p[0] == '0' {
		return Rate{}, fmt.Errorf("prefix %q: starts with 0; E.164 prefixes start with the country code (drop 00 or 011)", rec[0])
	}
	cat, err := ParseCategory(rec[1])
	if err != nil {
		return Rate{}, err
	}
	price, err := ParseMoney(rec[2])
	if err != nil {
		return Rate{}, fmt.Errorf("price_per_minute: %w", err)
	}
	r := Rate{Prefix: p, Category: cat, PerMinute: price}
	if len(rec) == 4 {
		r.Description = strings.TrimSpace(rec[3])
		if len(r.Description) > maxDescription {
			return Rate{}, fmt.Errorf("description longer than %d characters", maxDescription)
		}
	}
	return r, nil
}

// WriteCSV writes t in the form ParseRates reads, header first.
func (t *RateTable) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"prefix", "category", "price_per_minute", "description"})
	for _, r := range t.Rows() {
		_ = cw.Write([]string{r.Prefix, r.Category.String(), r.PerMinute.String(), r.Description})
	}
	cw.Flush()
	return cw.Error()
}
