package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
)

// `log search` shows each record's treatment steps (added by the B2BUA)
// under it, in text and in JSON.
func TestLogSearchShowsSteps(t *testing.T) {
	c := newCLI(t)
	l, err := decisionlog.Open(filepath.Join(c.dir, decisionlog.FileName), decisionlog.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute)
	var d policy.Decision
	d.Action = policy.ActionScreen
	call := policy.Call{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550101"), Origin: policy.OriginSIP, Peer: "192.0.2.7:5060"}
	r := decisionlog.NewRecord(at, &call, &d, time.Microsecond)
	l.Record(r)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.AddSteps(decisionlog.RefOf(&r),
		decisionlog.Step{Time: at.Add(10 * time.Millisecond), Name: "token", Outcome: "ok"},
		decisionlog.Step{Time: at.Add(4 * time.Second), Name: "screen", Outcome: "accept"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out := c.ok("log", "search", "--number", "+13035550101")
	if !strings.Contains(out, "\n    +10.0ms token ok\n    +4s screen accept\n") {
		t.Errorf("log search:\n%s", out)
	}
	js := c.ok("log", "search", "--number", "+13035550101", "--json")
	var recs []struct {
		Action string `json:"action"`
		Steps  []struct {
			Step    string `json:"step"`
			Outcome string `json:"outcome"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(js), &recs); err != nil || len(recs) != 1 || recs[0].Action != "screen" ||
		len(recs[0].Steps) != 2 || recs[0].Steps[1].Step != "screen" || recs[0].Steps[1].Outcome != "accept" {
		t.Errorf("log search --json:\n%s", js)
	}
}

// `log search --action none` lists the calls to the subscribers' IVR,
// which the B2BUA records without an action (b2bua/ivr.go, admitIVR), and
// only those; before, "none" was refused and there was no way to list them.
func TestLogSearchActionNone(t *testing.T) {
	c := newCLI(t)
	l, err := decisionlog.Open(filepath.Join(c.dir, decisionlog.FileName), decisionlog.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute)
	ivr := policy.Call{Calling: e164.MustParse("+13035550100"), Called: e164.MustParse("+13035550900"), Origin: policy.OriginSIP}
	var none policy.Decision
	l.Record(decisionlog.NewRecord(at, &ivr, &none, 0))
	screened := policy.Call{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100"), Origin: policy.OriginSIP}
	var screen policy.Decision
	screen.Action = policy.ActionScreen
	l.Record(decisionlog.NewRecord(at.Add(time.Second), &screened, &screen, time.Microsecond))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	js := c.ok("log", "search", "--action", "none", "--json")
	var recs []struct {
		Action string `json:"action"`
		Called string `json:"called"`
	}
	if err := json.Unmarshal([]byte(js), &recs); err != nil || len(recs) != 1 || recs[0].Action != "none" || recs[0].Called != "+13035550900" {
		t.Errorf("log search --action none: want the IVR call only:\n%s", js)
	}
	if out := c.ok("log", "search", "--action", "NONE", "--number", "+17195551212"); !strings.Contains(out, "No decisions match") {
		t.Errorf("log search --action none --number (the screened caller): %s", out)
	}
	if out := c.ok("log", "search", "--action", "screen"); !strings.Contains(out, "+17195551212") || strings.Contains(out, "+13035550900") {
		t.Errorf("log search --action screen:\n%s", out)
	}
	c.fails(2, "or none (calls to the subscribers' IVR)", "log", "search", "--action", "ivr")
}

// On a node of many (store.backend etcd) log search says whose decision
// log it searched: each node keeps its own, so "No decisions match" on one
// node is not the platform's answer. On a single bbolt node nothing is
// added.
func TestLogSearchOnANodeOfManySaysWhoseLog(t *testing.T) {
	c := newCLI(t)
	l, err := decisionlog.Open(filepath.Join(c.dir, decisionlog.FileName), decisionlog.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("log", "search"); strings.Contains(out, "decision log of node") {
		t.Errorf("log search on a single node names a node:\n%s", out)
	}
	cfg := filepath.Join(c.dir, "node-b.yaml")
	yaml := fmt.Sprintf("data_dir: %q\nadmin: {listen: %q}\nstore: {backend: etcd, etcd: {endpoints: [\"http://127.0.0.1:1\"]}}\n"+
		"sip: {enabled: false}\nb2bua: {enabled: false}\ncluster: {name: node-b}\n", c.dir, freePort(t))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c.dir = ""
	out := c.ok("log", "search", "--config", cfg)
	if !strings.Contains(out, "No decisions match.") || !strings.Contains(out, "decision log of node node-b only") {
		t.Errorf("log search on node-b of a cluster:\n%s\nwant it to say the log is node-b's only", out)
	}
	if js := c.ok("log", "search", "--config", cfg, "--json"); strings.Contains(js, "node-b") {
		t.Errorf("log search --json carries the note, which is no JSON:\n%s", js)
	}
}
