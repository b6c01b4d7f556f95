package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"callgate/store"
)

var (
	pageLinkRE = regexp.MustCompile(`<a href="([^"]+)" id="(first|prev|next)"`)
	pageNoRE   = regexp.MustCompile(`<span id="page">Page (\d+)</span>`)
	subLinkRE  = regexp.MustCompile(`<a href="/ui/s/([^"/]+)">`)
	entryRE    = regexp.MustCompile(`<tr><td>&#43;(\d+)</td>`)
)

// pageOf is what a list page shows: its items, its paging links, its
// number ("" on the first page).
func pageOf(body string, items *regexp.Regexp) (got []string, links map[string]string, page string) {
	for _, m := range items.FindAllStringSubmatch(body, -1) {
		got = append(got, m[1])
	}
	links = map[string]string{}
	for _, m := range pageLinkRE.FindAllStringSubmatch(body, -1) {
		links[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if m := pageNoRE.FindStringSubmatch(body); m != nil {
		page = m[1]
	}
	return got, links, page
}

// walkBack pages forward from first to the last page, then back with
// Previous, and checks each page going back is the one seen going
// forward, with its number, and that First goes to the first page.
func walkBack(t *testing.T, b *browser, first string, items *regexp.Regexp, wantPages, wantItems int) {
	t.Helper()
	var seen [][]string
	var all []string
	url := first
	for {
		st, body := b.get(url)
		got, links, page := pageOf(body, items)
		if st != http.StatusOK || len(got) == 0 {
			t.Fatalf("%s: %d, %d items:\n%s", url, st, len(got), body)
		}
		n := len(seen) + 1
		if want := fmt.Sprint(n); n > 1 && page != want || n == 1 && (page != "" || links["first"] != "" || links["prev"] != "") {
			t.Fatalf("%s: page %q, links %v, want page %d", url, page, links, n)
		}
		if n > 1 && links["first"] != first {
			t.Errorf("%s: first page link %q, want %q", url, links["first"], first)
		}
		seen = append(seen, got)
		all = append(all, got...)
		if links["next"] == "" {
			break
		}
		url = links["next"]
	}
	if len(seen) != wantPages || len(all) != wantItems {
		t.Fatalf("paged forward through %d pages, %d items; want %d, %d", len(seen), len(all), wantPages, wantItems)
	}
	for i := len(seen) - 1; i > 0; i-- {
		st, body := b.get(url)
		_, links, _ := pageOf(body, items)
		if st != http.StatusOK || links["prev"] == "" {
			t.Fatalf("page %d (%s): %d, no previous page link", i+1, url, st)
		}
		url = links["prev"]
		_, body = b.get(url)
		got, _, _ := pageOf(body, items)
		if strings.Join(got, " ") != strings.Join(seen[i-1], " ") {
			t.Fatalf("page %d going back (%s) shows %v, going forward it showed %v", i, url, got, seen[i-1])
		}
	}
	if url != first {
		t.Errorf("previous from page 2 is %q, want the first page %q", url, first)
	}
}

// TestWebPagingBack: the subscribers list, a search and a Blocked list
// page back as well as forward: each later page links the first page and
// the previous one (whose cursors its address carries, the store paging
// forward only) and says its number; going back shows the same pages as
// going forward.
func TestWebPagingBack(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	r, err := store.ParseRange("+12025550200..+12025550399")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.AllocateNumbers(store.Operator, "acme", r); err != nil {
		t.Fatal(err)
	}
	for i := range 2*uiPageSize + 10 {
		if _, err := f.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: fmt.Sprintf("sub%03d", i), Provider: "acme",
			Numbers: []string{fmt.Sprintf("+12025550%03d", 200+i)}}); err != nil {
			t.Fatal(err)
		}
	}
	var blocked []string
	for i := range 2*uiListPageSize + 5 {
		blocked = append(blocked, fmt.Sprintf("+1312555%04d", i))
	}
	if _, err := f.st.AddToList(store.Operator, "alice", store.ListBlocked, blocked, ""); err != nil {
		t.Fatal(err)
	}
	acme := newBrowser(t, f.srv.URL)
	acme.login("acme", "password-acme")
	walkBack(t, acme, "/ui/subscribers", subLinkRE, 3, 2*uiPageSize+11) // and alice
	walkBack(t, acme, "/ui/subscribers?q=sub", subLinkRE, 3, 2*uiPageSize+10)
	op := newBrowser(t, f.srv.URL)
	op.login("operator", "password-operator")
	walkBack(t, op, "/ui/subscribers?provider=acme", subLinkRE, 3, 2*uiPageSize+11)
	alice := newBrowser(t, f.srv.URL)
	alice.login("alice", "password-alice")
	walkBack(t, alice, "/ui/s/alice/lists/blocked", entryRE, 3, 2*uiListPageSize+6) // and the fixture's entry

	// An address carrying no earlier cursors (a bookmark) has the first
	// page only; a cursor this site did not make is refused.
	_, body := acme.get("/ui/subscribers")
	_, links, _ := pageOf(body, subLinkRE)
	next, _ := url.Parse(links["next"])
	if _, body := acme.get("/ui/subscribers?after=" + next.Query().Get("after")); !strings.Contains(body, `id="first"`) || strings.Contains(body, `id="prev"`) {
		t.Errorf("a page without its trail: want First and no Previous:\n%s", body)
	}
	for _, bad := range []string{"?after=1&prev=x", "?after=x", "?after=1&prev=" + strings.Repeat("1,", maxTrail) + "1"} {
		if st, _ := acme.get("/ui/subscribers" + bad); st != http.StatusUnprocessableEntity {
			t.Errorf("subscribers%s: %d, want 422", bad, st)
		}
	}
	if st, _ := alice.get("/ui/s/alice/lists/blocked?after=%2B13125550001&prev=12"); st != http.StatusUnprocessableEntity {
		t.Errorf("a list page with a bad earlier cursor: %d, want 422", st)
	}
}

// TestPagerTrail: a page's address carries at most maxTrail earlier
// cursors; deeper, Previous still goes back that far and First always
// works, and nothing claims a previous page it does not know.
func TestPagerTrail(t *testing.T) {
	link := func(v url.Values) string { return "?" + v.Encode() }
	p := pager{page: 1}
	var pages []pager
	for i := 1; i <= maxTrail+10; i++ {
		pages = append(pages, p)
		l := p.links(fmt.Sprint(i), link)
		q, _ := url.ParseQuery(strings.TrimPrefix(l.Next, "?"))
		var err error
		if p, err = readPager(q, func(string) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if len(p.prev) > maxTrail || p.page != i+1 {
			t.Fatalf("page %d carries %d cursors, page %d", i+1, len(p.prev), p.page)
		}
	}
	// From the deepest page back: maxTrail pages, then First only.
	back := 0
	for {
		l := p.links("", link)
		if l.First != "?" {
			t.Fatalf("page %d: first %q", p.page, l.First)
		}
		if l.Prev == "" {
			break
		}
		q, _ := url.ParseQuery(strings.TrimPrefix(l.Prev, "?"))
		prev, _ := readPager(q, func(string) error { return nil })
		if want := pages[prev.page-1]; prev.after != want.after || prev.page != p.page-1 {
			t.Fatalf("previous of page %d: %+v, want page %d at %q", p.page, prev, p.page-1, want.after)
		}
		p = prev
		back++
	}
	if back != maxTrail || p.page != maxTrail+11-maxTrail {
		t.Errorf("went back %d pages to page %d, want %d to page %d", back, p.page, maxTrail, maxTrail+11-maxTrail)
	}
}
