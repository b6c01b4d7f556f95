package keysync

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/keys"
	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"
)

// BenchmarkReplicatedRegister: REST registrations (RegisterWait: local
// table and one etcd transaction each) through a one-member etcd on
// loopback, from parallel clients. It reports registrations per second
// and etcd's database growth per key (DbSizeInUse, after the run).
//
//	go test -run '^$' -bench ReplicatedRegister -benchtime 20000x ./keys/keysync/
func BenchmarkReplicatedRegister(b *testing.B) {
	cl := etcdtest.Start(b, 1)
	cl.WaitHealthy(30 * time.Second)
	st := storetest.Fixture(b)
	en, err := st.GetEnterprise(store.Operator, storetest.Enterprise)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := keys.Open(keys.Config{MaxKeys: b.N + 1024, MaxWindow: time.Hour}, st)
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	cli := cl.Client()
	s, err := Start(context.Background(), Config{Client: cli, Prefix: "bench.keys/"}, reg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		st, err := cli.Status(context.Background(), cl.Endpoints()[0])
		if err != nil {
			b.Fatal(err)
		}
		return st.DbSizeInUse
	}
	before := size()
	calling := e164.MustParse(storetest.EnterpriseNumber)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			called := e164.Number(13035550000 + n.Add(1)) // a distinct key each
			if _, err := reg.RegisterWait(context.Background(), en.ID, keys.Key{Calling: calling, Called: called}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "registrations/s")
	if b.N >= 1000 {
		b.ReportMetric(float64(size()-before)/float64(b.N), "etcd-bytes/key")
	}
}
