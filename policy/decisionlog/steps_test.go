package decisionlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStepsJoinTheirRecord(t *testing.T) {
	l := openTest(t, testOptions())
	r := sample()
	other := sample()
	other.Time = r.Time.Add(time.Nanosecond) // a different call, one nanosecond later
	l.Record(r)
	l.Record(other)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	steps := []Step{
		{Time: r.Time.Add(10 * time.Millisecond), Name: "token", Outcome: "ok"},
		{Time: r.Time.Add(3 * time.Second), Name: "name", Outcome: "recorded", Detail: "2.4s"},
	}
	if err := l.AddSteps(RefOf(&r), steps[0]); err != nil {
		t.Fatal(err)
	}
	if err := l.AddSteps(RefOf(&r), steps[1]); err != nil {
		t.Fatal(err)
	}
	got, err := l.Steps(RefOf(&r))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "token" || got[1].Detail != "2.4s" || !got[1].Time.Equal(steps[1].Time) {
		t.Fatalf("steps %+v", got)
	}
	recs := mustSearch(t, l, Query{Number: r.Called})
	all, err := l.StepsOf(recs)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range recs {
		if recs[i].Time.Equal(r.Time) {
			n = len(all[i])
		} else if len(all[i]) != 0 {
			t.Errorf("steps joined to the wrong record: %+v", all[i])
		}
	}
	if n != 2 {
		t.Errorf("search found %d steps for the record, want 2", n)
	}

	var text bytes.Buffer
	if err := WriteTextSteps(&text, recs, all); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "\n    +10.0ms token ok\n    +3s name recorded 2.4s\n") {
		t.Errorf("text form:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := WriteJSONSteps(&js, recs, all); err != nil {
		t.Fatal(err)
	}
	var back []struct {
		Record
		Steps []Step `json:"steps"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	var raw []map[string]any
	_ = json.Unmarshal(js.Bytes(), &raw)
	withSteps := 0
	for _, m := range raw {
		if s, ok := m["steps"].([]any); ok && len(s) == 2 {
			withSteps++
		}
	}
	if withSteps != 1 {
		t.Errorf("JSON form has %d records with steps:\n%s", withSteps, js.String())
	}
}

// Steps of records the log no longer holds are pruned when steps are added.
func TestStepsPrunedWithTheirRecords(t *testing.T) {
	l := openTest(t, testOptions())
	r := sample()
	l.Record(r)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	gone := Ref{Time: r.Time.Add(-time.Hour), Called: r.Called}
	if err := l.AddSteps(gone, Step{Time: gone.Time, Name: "end", Outcome: "caller-hangup"}); err != nil {
		t.Fatal(err)
	}
	if err := l.AddSteps(RefOf(&r), Step{Time: r.Time, Name: "token", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := l.Steps(gone); len(s) != 0 {
		t.Errorf("steps of a record older than the log kept: %+v", s)
	}
	if s, _ := l.Steps(RefOf(&r)); len(s) != 1 {
		t.Errorf("steps of a live record: %+v", s)
	}
}

func TestStepsReadOnlyAndClosed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	l, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := sample()
	l.Record(r)
	if err := l.AddSteps(RefOf(&r), Step{Time: r.Time, Name: "token", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.AddSteps(RefOf(&r), Step{Name: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("AddSteps after Close: %v", err)
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.AddSteps(RefOf(&r), Step{Name: "x"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("AddSteps on a read-only log: %v", err)
	}
	if s, err := ro.Steps(RefOf(&r)); err != nil || len(s) != 1 {
		t.Errorf("read-only Steps: %v %+v", err, s)
	}
}

func FuzzDecodeStep(f *testing.F) {
	f.Add(appendStep(nil, &Step{Time: time.Unix(5, 0), Name: "pin", Outcome: "wrong", Detail: "try 1 of 3"}))
	f.Add([]byte{1, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Step
		if decodeStep(b, &s) != nil {
			return
		}
		if again := appendStep(nil, &s); !bytes.Equal(again, b) {
			t.Errorf("decoded step re-encodes differently: %x -> %x", b, again)
		}
	})
}
