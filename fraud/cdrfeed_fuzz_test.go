package fraud

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeJSONCDRs: a JSON CDR batch is read whole or refused with a
// *CDRError naming rows; every CDR read has both numbers and a start.
func FuzzDecodeJSONCDRs(f *testing.F) {
	f.Add([]byte(`[{"calling":"+13125550103","called":"+442079460000","start":"2026-03-02T10:04:05Z","duration":754}]`))
	f.Add([]byte(`[{"calling":"3125550103","called":"011442079460000","start":"1772467445","duration":0}]`))
	f.Add([]byte(`[{"calling":"+1","called":"","start":"x","duration":-1}]`))
	f.Add([]byte(`{"calling":"+13125550103"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		cdrs, err := decodeJSONCDRs(bytes.NewReader(in))
		if err != nil {
			var ce *CDRError
			if !errors.As(err, &ce) || len(ce.Rows) == 0 {
				t.Fatalf("%q: error %v is not a CDRError naming rows", in, err)
			}
			for _, r := range ce.Rows {
				if r.Line < 1 || r.Err == "" {
					t.Fatalf("%q: row error %+v", in, r)
				}
			}
			return
		}
		for i, c := range cdrs {
			if c.Calling == 0 || c.Called == 0 || c.Start.IsZero() {
				t.Fatalf("%q: row %d read as %+v", in, i+1, c)
			}
		}
	})
}
