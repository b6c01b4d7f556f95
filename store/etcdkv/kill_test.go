package etcdkv_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/crypto/bcrypt"
)

// A node killed (SIGKILL) while it stages a large import through etcd:
// the other node never sees any of it, the staging record goes with the
// dead node's lease, and the staged rows are then collected as garbage.
// The child is this test binary run again.
const (
	killEtcdEnv    = "CALLGATE_ETCD_KILL_CHILD"
	killEtcdPrefix = "CALLGATE_ETCD_KILL_PREFIX"
	killEtcdRows   = 200000
)

func killImportCSV() []byte {
	var b bytes.Buffer
	for i := range killEtcdRows {
		fmt.Fprintf(&b, "%s,blocked,+1646%07d\n", []string{storetest.Alice, storetest.Bob}[i%2], 2000000+i)
	}
	return b.Bytes()
}

func TestKillDuringImportThroughEtcd(t *testing.T) {
	if eps := os.Getenv(killEtcdEnv); eps != "" {
		killEtcdChild(strings.Split(eps, ","), os.Getenv(killEtcdPrefix))
		return
	}
	c := etcdtest.Start(t, 3)
	prefix := fmt.Sprintf("kill%d/", prefixes.Add(1))
	a, b := twoNodesAt(t, c, prefix)
	a.stop() // the child takes A's place
	cli := c.Client()
	entries := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, prefix+"entries/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	before, exportBefore := entries(), export(t, b.st)

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringImportThroughEtcd$")
	cmd.Env = append(os.Environ(), killEtcdEnv+"="+strings.Join(c.Endpoints(), ","), killEtcdPrefix+"="+prefix+"|"+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	var last string
	for lines.Scan() {
		last = lines.Text()
		if strings.HasPrefix(last, "STAGED") || strings.HasPrefix(last, "ERR") || last == "DONE" {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !strings.HasPrefix(last, "STAGED") {
		t.Fatalf("child did not get to staging: %q", last)
	}
	t.Logf("child killed after %q", last)
	staged := entries()
	if staged <= before {
		t.Fatalf("no staged rows in etcd after the kill (%d chunks before, %d after)", before, staged)
	}
	// B never saw any of the import.
	if got := export(t, b.st); got != exportBefore {
		t.Fatal("node B shows part of an import whose writer died")
	}
	// The dead node's lease (2s) takes the staging record with it; then the
	// rows are garbage.
	var st store.GCStats
	if !until(20*time.Second, func() bool {
		st, err = b.st.CollectGarbage()
		return err == nil && entries() == before
	}) {
		t.Fatalf("staged rows not collected: %d chunks, %d before (last GC %+v, %v)", entries(), before, st, err)
	}
	if got := export(t, b.st); got != exportBefore {
		t.Fatal("garbage collection changed the lists")
	}
}

func twoNodesAt(t *testing.T, c *etcdtest.Cluster, prefix string) (a, b *node) {
	t.Helper()
	dir := t.TempDir()
	a = startNode(t, c, prefix, filepath.Join(dir, "a.db"))
	if err := storetest.Populate(a.st); err != nil {
		t.Fatal(err)
	}
	b = startNode(t, c, prefix, filepath.Join(dir, "b.db"))
	return a, b
}

// killEtcdChild imports and says how far staging got; the parent kills it.
func killEtcdChild(endpoints []string, arg string) {
	prefix, dir, _ := strings.Cut(arg, "|")
	say := func(s string) { fmt.Println(s) }
	be, err := etcdkv.Open(etcdkv.Config{Endpoints: endpoints, Prefix: prefix, ReplicaPath: filepath.Join(dir, "child.db"),
		NoSync: true, LeaseTTL: 2 * time.Second})
	if err != nil {
		say("ERR " + err.Error())
		os.Exit(2)
	}
	s, err := store.New(be, store.Options{PINCost: bcrypt.MinCost, GCInterval: -1})
	if err != nil {
		say("ERR " + err.Error())
		os.Exit(2)
	}
	csv := killImportCSV()
	_, err = s.Import(bytes.NewReader(csv), store.ImportOptions{Actor: store.Operator, Progress: func(p store.ImportProgress) {
		if p.Phase == store.PhaseWrite && p.Done >= killEtcdRows/3 {
			say(fmt.Sprintf("STAGED %d of %d", p.Done, p.Total))
			time.Sleep(time.Minute) // killed here, mid-staging
		}
	}})
	if err != nil {
		say("ERR " + err.Error())
		os.Exit(2)
	}
	say("DONE")
	os.Exit(0)
}
