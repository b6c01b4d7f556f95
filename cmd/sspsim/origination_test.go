package main

import (
	"encoding/json"
	"testing"

	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// TestLoadOriginatingCommand: --trigger and a mix's trigger= send
// originating queries; the SCP's disconnects and continues are counted.
func TestLoadOriginatingCommand(t *testing.T) {
	r, err := ssptest.Start(ssptest.Config{Originate: func(o *ssptest.Origination) ssptest.Reply {
		if o.Op == ain.OpInfoAnalyzed {
			return ssptest.Reply{Op: ain.OpDisconnect, Arg: &ain.DisconnectArg{}}
		}
		return ssptest.Reply{Op: ain.OpContinue, Arg: &ain.ContinueArg{}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	res := run(t, "", "load", "--connect", r.Addr(), "--rate", "0", "--calls", "100", "--json", "--trigger", "info-analyzed",
		"--calling-range", "+12122000000-+12122099999", "--called-range", "+44207946xxxx")
	var s ssp.Summary
	if err := json.Unmarshal([]byte(res.out), &s); err != nil || res.code != 0 || s.Operations["disconnect"] != 100 || r.Bad() != 0 {
		t.Fatalf("--trigger info-analyzed: exit %d %v %+v\n%s", res.code, err, s.Operations, res.err)
	}
	res = run(t, "", "load", "--connect", r.Addr(), "--rate", "0", "--calls", "100", "--json", "--trigger", "info-analyzed",
		"--mix", "name=intl,weight=1,calling=+1212200xxxx,called=+44207946xxxx",
		"--mix", "name=domestic,weight=3,trigger=info-collected,calling=+1212200xxxx,called=+1303555xxxx")
	if err := json.Unmarshal([]byte(res.out), &s); err != nil || res.code != 0 || s.Operations["disconnect"] != 25 || s.Operations["continue"] != 75 {
		t.Fatalf("mix: exit %d %v %+v\n%s", res.code, err, s.Operations, res.err)
	}
	for _, args := range [][]string{
		{"load", "--connect", r.Addr(), "--calls", "1", "--trigger", "origination", "--called", "+13035550100"},
		{"load", "--connect", r.Addr(), "--calls", "1", "--mix", "trigger=x,called=+13035550100"},
	} {
		if res := run(t, "", args...); res.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, res.code, res.err)
		}
	}
}
