package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/store"
)

// bulkCSV is n subscribers of acme from first (+1212550xxxx), one number
// each.
func bulkCSV(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "bulk%06d,acme,+1212550%04d\n", i, i)
	}
	return b.String()
}

func allocateBulk(t *testing.T, f *fixture) {
	t.Helper()
	r, err := store.ParseRange("+12125500000..+12125509999")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.AllocateNumbers(store.Operator, "acme", r); err != nil {
		t.Fatal(err)
	}
}

// TestSubscriberImportAPI: the JSON answers: a report, every bad row with
// nothing written, a body past the import limit refused (413).
func TestSubscriberImportAPI(t *testing.T) {
	f := newFixture(t)
	allocateBulk(t, f)
	var rep store.SubscriberImportReport
	f.want(t, http.StatusOK, "acme", "POST", "/api/v1/subscribers:import?dry_run=true", "name,provider,numbers\n"+bulkCSV(0, 3), &rep)
	if !rep.DryRun || rep.Valid != 3 || rep.Written != 0 {
		t.Fatalf("dry run: %+v", rep)
	}
	f.want(t, http.StatusOK, "acme", "POST", "/api/v1/subscribers:import", bulkCSV(0, 3), &rep)
	if rep.Written != 3 {
		t.Fatalf("import: %+v", rep)
	}
	var p problem
	f.want(t, http.StatusUnprocessableEntity, "acme", "POST", "/api/v1/subscribers:import",
		bulkCSV(3, 2)+"bad name,acme,+12125509998\nbulk9,acme,+1212550000x\n", &p)
	if len(p.Errors) != 2 || p.Errors[0].Line != 3 || p.Errors[1].Line != 4 || !strings.Contains(p.Errors[1].Error, "1212550000x") {
		t.Fatalf("bad rows: %+v", p)
	}
	if _, err := f.st.GetSubscriber(store.Operator, "bulk000003"); err == nil {
		t.Fatal("a good row of a refused file was written")
	}
	// The import limit is its own (a file far larger than any JSON body).
	tier, err := New(Config{Listen: "127.0.0.1:0", MaxImport: 100}, f.st)
	if err != nil {
		t.Fatal(err)
	}
	small := httptest.NewServer(tier.Handler())
	defer small.Close()
	f2 := *f
	f2.srv = small
	f2.want(t, http.StatusRequestEntityTooLarge, "acme", "POST", "/api/v1/subscribers:import", bulkCSV(10, 10), &p)
	if p.Field != "body" {
		t.Errorf("413 names %q", p.Field)
	}
	if _, err := f.st.GetSubscriber(store.Operator, "bulk000010"); err == nil {
		t.Fatal("a file past the limit was imported in part")
	}
}

// readEvents reads NDJSON lines into ch until the body ends.
func readEvents(t *testing.T, body io.Reader, ch chan<- importEvent) {
	defer close(ch)
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		var ev importEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("line %q: %v", sc.Text(), err)
			return
		}
		ch <- ev
	}
}

// TestSubscriberImportStreams: with Accept: application/x-ndjson the
// answer streams while the file is still being sent: progress of the
// bytes read arrives before the client has sent the rest (so the server
// holds no whole file), then the writing, then the report.
func TestSubscriberImportStreams(t *testing.T) {
	f := newFixture(t)
	allocateBulk(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a server that buffers would never answer
	defer cancel()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/api/v1/subscribers:import", pr)
	req.Header.Set("Authorization", "Bearer "+f.tokens["acme"])
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Accept", "application/x-ndjson")
	first, rest := bulkCSV(0, 9500), bulkCSV(9500, 500) // the first part is past 256 KiB
	go pw.Write([]byte(first))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("streamed import: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan importEvent)
	go readEvents(t, resp.Body, events)
	for ev := range events {
		if ev.Progress != nil && ev.Progress.Phase == "reading" && ev.Progress.Done > 0 {
			break // read in part, the rest not even sent yet
		}
		if ev.Report != nil || ev.Problem != nil {
			t.Fatalf("the import ended before the file did: %+v", ev)
		}
	}
	if _, err := io.WriteString(pw, rest); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var phases []string
	var last importEvent
	for ev := range events {
		if ev.Progress != nil && (len(phases) == 0 || phases[len(phases)-1] != ev.Progress.Phase) {
			phases = append(phases, ev.Progress.Phase)
		}
		last = ev
	}
	if last.Report == nil || last.Report.Written != 10000 || last.Report.Refused {
		t.Fatalf("last line: %+v", last)
	}
	if strings.Join(phases, " ") != "reading writing committing" {
		t.Errorf("phases after the first part: %v", phases)
	}
	if v, ok := f.st.Subscriber(e164.MustParse("+12125509999")); !ok || v.Name != "bulk009999" {
		t.Fatalf("last subscriber: %+v %v", v, ok)
	}
}

// TestSubscriberImportStreamsRowErrors: each bad row is a line of its
// own as it is found, and the last line is the problem; nothing written.
func TestSubscriberImportStreamsRowErrors(t *testing.T) {
	f := newFixture(t)
	allocateBulk(t, f)
	_, out, h := f.do(t, "acme", "POST", "/api/v1/subscribers:import", bulkCSV(0, 2)+"alice,acme,+12125509000\n"+bulkCSV(2, 2)+"x y,acme,+12125509001\n",
		"Accept", "application/x-ndjson")
	if h.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("answer: %s", out)
	}
	var lines []importEvent
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ev importEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, ev)
	}
	var rowLines []int
	for _, ev := range lines {
		if ev.RowError != nil {
			rowLines = append(rowLines, ev.RowError.Line)
		}
	}
	last := lines[len(lines)-1]
	if fmt.Sprint(rowLines) != "[3 6]" || last.Problem == nil || last.Problem.Status != http.StatusUnprocessableEntity || len(last.Problem.Errors) != 2 {
		t.Fatalf("row errors %v, last line %+v", rowLines, last)
	}
	if _, err := f.st.GetSubscriber(store.Operator, "bulk000000"); err == nil {
		t.Fatal("a refused file wrote a row")
	}
}
