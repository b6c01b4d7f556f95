package admin

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"callgate/store"
)

// TestSubscriberCountAndSearch: GET /api/v1/subscribers:count counts what
// the caller may see without listing it; ?q= searches by name or number,
// page by page, and never finds another tenant's subscriber.
func TestSubscriberCountAndSearch(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		if _, err := f.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: fmt.Sprintf("dan%d", i), Provider: "acme",
			Numbers: []string{fmt.Sprintf("+1202555012%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		who, query string
		want       int
	}{
		{"operator", "", 7}, {"operator", "?provider=acme", 6}, {"operator", "?provider=globex", 1},
		{"acme", "", 6}, {"acme", "?provider=acme", 6}, {"globex", "", 1}, {"alice", "", 1},
	} {
		var got subscriberCount
		f.want(t, 200, tc.who, "GET", "/api/v1/subscribers:count"+tc.query, nil, &got)
		if got.Count != tc.want {
			t.Errorf("count%s as %s: %d, want %d", tc.query, tc.who, got.Count, tc.want)
		}
	}
	f.want(t, 404, "acme", "GET", "/api/v1/subscribers:count?provider=globex", nil, nil)

	names := func(pg page[subscriberView]) []string {
		var out []string
		for _, s := range pg.Items {
			out = append(out, s.Name)
		}
		return out
	}
	var pg page[subscriberView]
	f.want(t, 200, "acme", "GET", "/api/v1/subscribers?q=DAN&limit=3", nil, &pg)
	if got := names(pg); !slices.Equal(got, []string{"dan0", "dan1", "dan2"}) || pg.NextCursor == "" {
		t.Fatalf("first page %v, cursor %q", got, pg.NextCursor)
	}
	var rest page[subscriberView]
	f.want(t, 200, "acme", "GET", "/api/v1/subscribers?q=DAN&limit=3&cursor="+url.QueryEscape(pg.NextCursor), nil, &rest)
	if got := names(rest); !slices.Equal(got, []string{"dan3", "dan4"}) || rest.NextCursor != "" {
		t.Fatalf("second page %v, cursor %q", got, rest.NextCursor)
	}
	for q, want := range map[string][]string{"5550123": {"dan3"}, "(202) 555-0124": {"dan4"}, "+13035550100": nil, "bob": nil} {
		var got page[subscriberView]
		f.want(t, 200, "acme", "GET", "/api/v1/subscribers?q="+url.QueryEscape(q), nil, &got)
		if !slices.Equal(names(got), want) {
			t.Errorf("acme searching %q: %v, want %v", q, names(got), want)
		}
	}
}
