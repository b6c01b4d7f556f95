package scp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/internal/tsharktest"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/store/storetest"
)

// TestEndToEnd runs the SCP as an SG on loopback TCP over the real
// decision engine and the demo store, with the switch simulator as the
// SSP, for the acceptance calls of issue 4; it captures the exchange as a
// pcap and checks that tshark decodes the expected AIN operation in each
// Response, without expert warnings.
func TestEndToEnd(t *testing.T) {
	tsharktest.Path(t) // fail early, not after the exchange, without tshark

	st := storetest.Fixture(t)
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), "decisions.db"), decisionlog.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	decider := decisionlog.Wrap(policy.New(st), dl)

	cfg := testConfig()
	cfg.Workers = 2
	reg := prometheus.NewRegistry()
	svc, err := New(cfg, decider, WithRegisterer(reg), WithDecisionLog(dl))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			svc.Shutdown(context.Background())
		}
	}()

	cl, err := ssp.Dial(ctx, ssp.Config{Network: "tcp", Connect: []string{svc.Addr()}, RoutingContexts: []uint32{10}, Capture: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	num := e164.MustParse
	calls := []struct {
		name   string
		ta     ssp.TA
		op     ain.OpCode
		opName string
	}{
		{"VIP caller", ssp.TA{Calling: num(storetest.VIPCaller), Called: num(storetest.AliceNumber)}, ain.OpAuthorizeTermination, "authorizeTermination"},
		{"blocked caller", ssp.TA{Calling: num(storetest.BlockedCaller), Called: num(storetest.AliceNumber)}, ain.OpDisconnect, "disconnect"},
		{"blocked, reject with media", ssp.TA{Calling: num(storetest.UnknownCaller), Called: num(storetest.BobNumber)}, ain.OpSendToResource, "sendToResource"},
		{"called not a subscriber", ssp.TA{Calling: num(storetest.UnknownCaller), Called: num("+12125550000")}, ain.OpAuthorizeTermination, "authorizeTermination"},
		{"unknown caller", ssp.TA{Calling: num(storetest.UnknownCaller), Called: num(storetest.AliceNumber)}, ain.OpForwardCall, "forwardCall"},
		{"anonymous caller", ssp.TA{Calling: num(storetest.UnknownCaller), Presentation: ssp.PresentationRestricted, Called: num(storetest.AliceNumber)}, ain.OpForwardCall, "forwardCall"},
		{"no calling number", ssp.TA{Called: num(storetest.AliceNumber)}, ain.OpForwardCall, "forwardCall"},
	}
	for _, c := range calls {
		ans, err := cl.TerminationAttempt(ctx, c.ta)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ans.Operation != c.opName {
			t.Errorf("%s: answer %q, want %q (%+v)", c.name, ans.Operation, c.opName, ans)
			continue
		}
		switch a := ans.Arg.(type) {
		case *ain.ForwardCallArg:
			if n, _ := a.CalledPartyID.V.E164(); n != num(storetest.RoutingNumber) {
				t.Errorf("%s: forwarded to %v, want the routing number %s", c.name, n, storetest.RoutingNumber)
			}
			if n, _ := a.RedirectingPartyID.V.E164(); n != c.ta.Called {
				t.Errorf("%s: redirectingPartyID %v, want the dialled %v", c.name, n, c.ta.Called)
			}
			if !bytes.Equal(a.RedirectionInformation, []byte{0x33, 0x31}) {
				t.Errorf("%s: redirectionInformation %x, want 3331 (call diverted, unconditional, first)", c.name, a.RedirectionInformation)
			}
		case *ain.SendToResourceArg:
			if !a.DisconnectFlag || a.StrParameterBlock.Uninterruptible.Len() != 1 ||
				string(a.StrParameterBlock.Uninterruptible.At(0)) != string([]byte{0, storetest.BobAnn, 0}) {
				t.Errorf("%s: sendToResource %+v, want Bob's announcement %d then disconnect", c.name, a, storetest.BobAnn)
			}
		}
	}

	// The capture, as an SCTP trace tshark reads.
	pcap := filepath.Join(t.TempDir(), "e2e.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if err := ssp.WritePcap(f, cl.Capture()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SCP_KEEP_PCAP") != "" {
		data, _ := os.ReadFile(pcap)
		_ = os.WriteFile(os.Getenv("SCP_KEEP_PCAP"), data, 0o644)
	}
	rows := tsharktest.Fields(t, pcap, "ansi_tcap.response_element", "frame.number", "ansi_tcap.private", "ansi_tcap.componentIDs")
	if len(rows) != len(calls) {
		t.Fatalf("tshark shows %d Responses, want %d: %v", len(rows), len(calls), rows)
	}
	for i, r := range rows {
		want := strings.TrimSpace(itoa(int(calls[i].op)))
		if len(r) < 2 || r[1] != want {
			t.Errorf("%s: tshark reads op %v in the Response, want %s", calls[i].name, r, want)
		}
	}
	queries := tsharktest.Fields(t, pcap, "ansi_tcap.queryWithPerm_element", "ansi_tcap.private")
	if len(queries) != len(calls) {
		t.Errorf("tshark shows %d queries, want %d", len(queries), len(calls))
	}
	// Each forwardCall's redirectionInformation, as tshark reads it.
	forwards := 0
	for _, c := range calls {
		if c.op == ain.OpForwardCall {
			forwards++
		}
	}
	redir := tsharktest.Fields(t, pcap, "ain.redirectionInformation", "ain.redirectionInformation")
	if len(redir) != forwards {
		t.Errorf("tshark shows %d redirectionInformation, want one per forwardCall (%d): %v", len(redir), forwards, redir)
	}
	for _, r := range redir {
		if len(r) != 1 || strings.ReplaceAll(r[0], ":", "") != "3331" {
			t.Errorf("tshark reads redirectionInformation %v, want 3331", r)
		}
	}
	if ex := tsharktest.Expert(t, pcap); len(ex) != 0 {
		t.Errorf("tshark expert info:\n%s", strings.Join(ex, "\n"))
	}

	// Every query is in the decision log.
	if err := dl.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, err := dl.Search(decisionlog.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(calls) {
		t.Errorf("decision log holds %d records, want %d", len(recs), len(calls))
	}
	for _, r := range recs {
		if r.Origin != policy.OriginAIN || r.Peer != "244-1-10" {
			t.Errorf("record %v: origin %v peer %q", r.Called, r.Origin, r.Peer)
		}
	}

	stopped = true
	if err := svc.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
