package store

import (
	"encoding/json"
	"testing"
	"time"

	"callgate/e164"
)

// TestSubscriberRecordJSON: the import's record encoder writes exactly
// what json.Marshal writes for the same subscriber, so every reader of the
// record (the index, other nodes, exports) sees no difference.
func TestSubscriberRecordJSON(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 29, 12, 123456789, time.UTC)
	for _, r := range []Subscriber{
		{ID: 1, Name: "s0000001", ProviderID: 3, Numbers: []e164.Number{e164.MustParse("+13122000000")}, Permissions: PermAll, Created: at},
		{ID: 4294967295, Name: "a.b_c-D9", ProviderID: 4294967295, Numbers: []e164.Number{e164.MustParse("+13035550120"), e164.MustParse("+442071234567")},
			Permissions: PermVIP | PermBlocked, Created: at.Truncate(time.Second)},
		{ID: 7, Name: "z", ProviderID: 1, Numbers: []e164.Number{e164.MustParse("+13035550121")}, Permissions: PermNone, Created: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		perm, _ := json.Marshal(r.Permissions)
		if got := appendSubscriberRecord(nil, &r, perm); string(got) != string(want) {
			t.Errorf("record of %s:\n got %s\nwant %s", r.Name, got, want)
		}
	}
}
