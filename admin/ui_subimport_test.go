package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"callgate/store"
)

// postFile posts csv to the subscriber import as the page's form does
// without JavaScript (multipart, the CSRF token in the form).
func (b *browser) postFile(csv string, dryRun bool) (int, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.csrf)
	if dryRun {
		mw.WriteField("dry_run", "on")
	}
	fw, _ := mw.CreateFormFile("file", "subscribers.csv")
	fw.Write([]byte(csv))
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+"/ui/subscribers/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.send(req)
}

// streamFile posts csv as the page's script does: the file as the body,
// the token in a header, the answer streamed as JSON lines.
func (b *browser) streamFile(csv, token, query string) (int, string, []importEvent) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+"/ui/subscribers/import"+query, strings.NewReader(csv))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Accept", "application/x-ndjson")
	if token != "" {
		req.Header.Set(csrfHeader, token)
	}
	st, body := b.send(req)
	var evs []importEvent
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var ev importEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return st, body, nil
		}
		evs = append(evs, ev)
	}
	return st, body, evs
}

func (b *browser) send(req *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

// TestWebSubscriberImport: a provider imports subscribers through the web
// UI, with and without the page's script: a file with bad rows names each
// and imports nothing; a good file imports all of it; a check only
// imports nothing. The streamed answer carries progress, each bad row and
// the report or problem last.
func TestWebSubscriberImport(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	if st, _, _ := b.login("acme", "password-acme"); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	st, page := b.get("/ui/subscribers/import")
	if st != 200 || !strings.Contains(page, `<progress id="progress"`) || !strings.Contains(page, `src="/ui/subimport.js"`) ||
		!strings.Contains(page, `<label for="file">`) || !strings.Contains(page, "<code>acme</code>") {
		t.Fatalf("the import page: %d %s", st, page)
	}
	count := func() int {
		n, err := f.st.CountSubscribers(store.Operator, "")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	bad := "name,provider,numbers\ndan,acme,+12025550110\neve,acme,call me\nfay,globex,+13035550110\n"
	good := "name,provider,numbers\ndan,acme,+12025550110\neve,acme,+12025550111 +12025550112\n"

	// Without the script: the form post.
	st, body := b.postFile(bad, false)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "2 of 3 rows are bad; nothing was imported") ||
		!strings.Contains(body, "<td>3</td><td>") || !strings.Contains(body, "not a telephone number") || !strings.Contains(body, "<td>4</td>") ||
		!strings.Contains(body, `role="alert"`) || count() != before {
		t.Fatalf("bad rows posted: %d (count %d, was %d)\n%s", st, count(), before, body)
	}
	if st, body = b.postFile(good, true); st != 200 || !strings.Contains(body, "Nothing was imported (check only)") || count() != before {
		t.Fatalf("check only: %d %s", st, body)
	}
	if st, body = b.postFile(good, false); st != 200 || !strings.Contains(body, "Imported 2 subscriber(s) with 3 number(s). You now have 3 subscriber(s).") || count() != before+2 {
		t.Fatalf("good file posted: %d %s", st, body)
	}

	// With the script: streamed.
	b.get("/ui/subscribers/import")
	st, body, evs := b.streamFile(strings.ReplaceAll(bad, "dan,acme,+12025550110", "gus,acme,+12025550113"), b.csrf, "")
	if st != 200 || len(evs) < 3 || evs[0].Progress == nil || evs[len(evs)-1].Problem == nil {
		t.Fatalf("bad rows streamed: %d %s", st, body)
	}
	var lines []int
	for _, ev := range evs {
		if ev.RowError != nil {
			lines = append(lines, ev.RowError.Line)
		}
	}
	if p := evs[len(evs)-1].Problem; fmt.Sprint(lines) != "[3 4]" || p.Status != http.StatusNotFound && p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.Detail, "nothing was imported") || count() != before+2 {
		t.Fatalf("bad rows streamed: lines %v, %s", lines, body)
	}
	good2 := "name,provider,numbers\nhal,acme,+12025550120\nida,acme,+12025550121\n"
	st, body, evs = b.streamFile(good2, b.csrf, "")
	last := evs[len(evs)-1]
	if st != 200 || last.Report == nil || last.Report.Written != 2 || last.Report.Subscribers != 5 || count() != before+4 {
		t.Fatalf("good file streamed: %d %s", st, body)
	}
	phases := map[string]bool{}
	for _, ev := range evs {
		if ev.Progress != nil {
			phases[ev.Progress.Phase] = true
			if ev.Progress.Phase == "reading" && ev.Progress.Total != int64(len(good2)) {
				t.Errorf("reading progress without the file's size: %+v", ev.Progress)
			}
		}
	}
	if !phases["reading"] || !phases["writing"] {
		t.Errorf("progress phases %v", phases)
	}

	// The token is required in the header (or the form).
	for _, tok := range []string{"", "forged"} {
		st, body, _ := b.streamFile("name,provider,numbers\njoe,acme,+12025550130\n", tok, "")
		if st != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("streamed with token %q: %d %s", tok, st, body)
		}
	}
	if count() != before+4 {
		t.Fatalf("a forged import wrote subscribers")
	}
}

// TestWebSubscriberImportRefused: a subscriber may not open or post the
// import (403), a provider's rows for another provider import nothing and
// show none of its data, and a file over the limit is refused whole.
func TestWebSubscriberImportRefused(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	before, _ := f.st.CountSubscribers(store.Operator, "")
	alice := newBrowser(t, f.srv.URL)
	alice.login("alice", "password-alice")
	alice.get("/ui/")
	if st, _ := alice.get("/ui/subscribers/import"); st != http.StatusForbidden {
		t.Errorf("a subscriber's import page: %d", st)
	}
	alice.get("/ui/s/alice")
	if st, _ := alice.postFile("name,provider,numbers\nmole,acme,+12025550140\n", false); st != http.StatusForbidden {
		t.Errorf("a subscriber's import post: %d", st)
	}
	if st, _, _ := alice.streamFile("name,provider,numbers\nmole,acme,+12025550140\n", alice.csrf, ""); st != http.StatusForbidden {
		t.Errorf("a subscriber's streamed import: %d", st)
	}

	acme := newBrowser(t, f.srv.URL)
	acme.login("acme", "password-acme")
	acme.get("/ui/subscribers/import")
	st, body := acme.postFile("name,provider,numbers\nmole,globex,+13035550140\n", false)
	if st < 400 || strings.Contains(body, "bob") || strings.Contains(body, "umbrella") || !strings.Contains(body, "nothing was imported") {
		t.Errorf("acme importing into globex: %d %s", st, body)
	}
	if n, _ := f.st.CountSubscribers(store.Operator, ""); n != before {
		t.Fatalf("refused imports wrote subscribers: %d, was %d", n, before)
	}

	// Over the limit: the form and the stream alike.
	tier, err := New(Config{Listen: "127.0.0.1:0", MaxImport: 4 << 10}, f.st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tier.Handler())
	defer srv.Close()
	small := newBrowser(t, srv.URL)
	small.login("acme", "password-acme")
	small.get("/ui/subscribers/import")
	var big strings.Builder
	big.WriteString("name,provider,numbers\n")
	for i := 0; big.Len() < 8<<10; i++ {
		fmt.Fprintf(&big, "big%d,acme,+120255501%02d\n", i, i%100)
	}
	if st, body := small.postFile(big.String(), false); st != http.StatusRequestEntityTooLarge || !strings.Contains(body, "nothing was changed") {
		t.Errorf("a form over the limit: %d %s", st, body)
	}
	st, body, evs := small.streamFile(big.String(), small.csrf, "")
	if st != 200 || len(evs) != 1 || evs[0].Problem == nil || evs[0].Problem.Status != http.StatusRequestEntityTooLarge ||
		!strings.Contains(evs[0].Problem.Detail, "larger than the import limit") {
		t.Errorf("a stream over the limit: %d %s", st, body)
	}
	if n, _ := f.st.CountSubscribers(store.Operator, ""); n != before {
		t.Fatalf("imports over the limit wrote subscribers")
	}
}

// TestWebSubscribersSearch: the subscribers page counts without listing
// everyone, shows a page at a time, and finds subscribers by name or
// number among the provider's own only.
func TestWebSubscribersSearch(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	r, err := store.ParseRange("+12025550200..+12025550299")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.AllocateNumbers(store.Operator, "acme", r); err != nil {
		t.Fatal(err)
	}
	for i := range uiPageSize + 10 {
		if _, err := f.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: fmt.Sprintf("sub%02d", i), Provider: "acme",
			Numbers: []string{fmt.Sprintf("+120255502%02d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, f.srv.URL)
	b.login("acme", "password-acme")
	st, body := b.get("/ui/subscribers")
	if st != 200 || !strings.Contains(body, "<strong>61</strong>") || strings.Count(body, `<a href="/ui/s/`) != uiPageSize ||
		!strings.Contains(body, `id="next"`) {
		t.Fatalf("first page: %d %s", st, body)
	}
	next := body[strings.Index(body, `<a href="/ui/subscribers?after=`)+9:]
	next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
	if st, body = b.get(next); st != 200 || strings.Count(body, `<a href="/ui/s/`) != 11 || strings.Contains(body, `id="next"`) ||
		!strings.Contains(body, "sub59") || strings.Contains(body, ">sub00<") {
		t.Fatalf("second page %s: %d %s", next, st, body)
	}
	for q, want := range map[string][]string{"SUB1": {"sub10", "sub19"}, "555-0203": {"sub03"}, "(202) 555-0259": {"sub59"}, "bob": nil, "3035550100": nil} {
		st, body := b.get("/ui/subscribers?q=" + strings.ReplaceAll(q, " ", "+"))
		n := strings.Count(body, `<a href="/ui/s/`)
		if st != 200 || len(want) == 0 && n != 0 || len(want) > 0 && (n == 0 || !strings.Contains(body, ">"+want[0]+"<") || !strings.Contains(body, ">"+want[len(want)-1]+"<")) {
			t.Errorf("search %q: %d, %d found: %s", q, st, n, body)
		}
	}
	// A subscriber has no subscribers page.
	a := newBrowser(t, f.srv.URL)
	a.login("alice", "password-alice")
	if st, _ := a.get("/ui/subscribers?q=a"); st != http.StatusForbidden {
		t.Errorf("a subscriber's search: %d", st)
	}
}
