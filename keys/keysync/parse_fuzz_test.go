package keysync

import (
	"testing"
	"time"

	"callgate/keys"
	"callgate/store/storetest"
)

// FuzzParse: whatever sits under the call-key prefix in etcd (another
// version's keys, a hand edit) is either refused with an error or parsed
// into a change that prints back to the same etcd key and that a registry
// takes or refuses without panicking.
func FuzzParse(f *testing.F) {
	s := &Sync{cfg: Config{Prefix: "callgate.keys/"}}
	for _, seed := range []struct{ key, val string }{
		{"callgate.keys/15125550100/13035550100/1796600000-1796600060", "{}"},
		{"callgate.keys/15125550100/13035550100/1796600000-1796600060", `{"used":1796600090}`},
		{"callgate.keys/15125550100/13035550100/1796600000-1796600060", `{"ent":1,"used":1}`},
		{"callgate.keys/15125550100/13035550100/1796600000-1796600060", `{"ent":4294967295}`},
		{"callgate.keys/15125550100/13035550100/1796600060-1796600000", "{}"},
		{"callgate.keys/15125550100/13035550100/-9223372036854775808-9223372036854775807", ""},
		{"callgate.keys/1/2/3", "{"},
		{"other/15125550100/13035550100/1-2", "{}"},
	} {
		f.Add(seed.key, []byte(seed.val))
	}
	reg, err := keys.Open(keys.Config{MaxKeys: 64, Now: func() time.Time { return time.Unix(1796600030, 0) }}, storetest.Fixture(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { reg.Close() })
	f.Fuzz(func(t *testing.T, key string, val []byte) {
		c, err := s.parse([]byte(key), val)
		if err != nil {
			return
		}
		again, err := s.parse([]byte(s.etcdKey(c.Key)), val)
		if err != nil || again != c {
			t.Fatalf("%q parsed to %+v, which prints as %q and parses back to %+v (%v)", key, c, s.etcdKey(c.Key), again, err)
		}
		reg.Apply(c)
	})
}
