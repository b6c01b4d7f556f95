package etcdkv_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"
)

// Who set a subscriber's setting travels with its record through etcd:
// node a's provider sets Carol's treatment though she may change nothing,
// and node b (another replica) decides with it too; Carol's own earlier
// choice, locked, stays out on both.
func TestProviderSetSettingOnEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	p := fmt.Sprintf("setby%d/", prefixes.Add(1))
	a := startNode(t, c, p, filepath.Join(t.TempDir(), "a.db"))
	if err := storetest.Populate(a.st); err != nil {
		t.Fatal(err)
	}
	b := startNode(t, c, p, filepath.Join(t.TempDir(), "b.db"))
	carol := num(storetest.CarolNumber)
	block := store.TreatBlock
	if _, err := a.st.SetTreatments(store.ProviderActor(storetest.OtherProvider), storetest.Carol, store.SettingsUpdate{Anonymous: &block}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{a, b} {
		waitFor(t, n.st, func() bool {
			v, _ := n.st.Subscriber(carol)
			return v.Anonymous == store.TreatBlock
		})
		if v, _ := n.st.Subscriber(carol); v.Unknown != store.TreatScreen {
			t.Fatalf("carol's own locked choice applies: %+v", v)
		}
		if src, err := n.st.SettingSources(store.Operator, storetest.Carol); err != nil || src.Anonymous != store.SourceProvider || src.Unknown != store.SourcePlatform {
			t.Fatalf("carol's sources: %+v, %v", src, err)
		}
	}
}
