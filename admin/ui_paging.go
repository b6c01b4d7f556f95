package admin

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"callgate/store"
)

// Paging back in the web UI's lists (subscribers, a list's entries). The
// store pages forward only, by a cursor (the last item of a page), as the
// API does; so a page's address carries the cursors of the pages before
// it ("prev", oldest first; the first page has none) and its number
// ("page"). Previous takes the last cursor off; Next puts this page's on.
// At most maxTrail cursors are carried, so an address stays short however
// deep the paging: past that, Previous goes back maxTrail pages and First
// always works. An address without them (an old bookmark) has First only.

// maxTrail is how many earlier pages' cursors a page's address carries.
const maxTrail = 32

// pager is where a page is in its list.
type pager struct {
	after string   // this page's cursor ("": the first page)
	prev  []string // the cursors of the pages before it, oldest first ("", the first page's, not among them)
	page  int      // this page's number (0: not known)
}

// pageLinks are a page's paging addresses ("": none).
type pageLinks struct {
	First, Prev, Next string
	Page              int // this page's number, when known and not the first
}

// readPager reads a page's place from its query; valid checks a cursor
// (the store's form of one).
func readPager(q url.Values, valid func(string) error) (pager, error) {
	p := pager{after: q.Get("after")}
	if p.after == "" {
		return pager{page: 1}, nil
	}
	cursors := []string{p.after}
	if s := q.Get("prev"); s != "" {
		p.prev = strings.Split(s, ",")
		cursors = append(cursors, p.prev...)
	}
	if len(p.prev) > maxTrail {
		return pager{}, fmt.Errorf("prev: %w (more than %d pages: a page this site did not link to)", store.ErrInvalid, maxTrail)
	}
	for _, c := range cursors {
		if err := valid(c); err != nil {
			return pager{}, fmt.Errorf("page cursor %q: %w (a page this site linked to)", c, err)
		}
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n >= len(p.prev)+2 {
		p.page = n
	}
	return p, nil
}

// links are the addresses of the first, previous and next pages, next
// being the next page's cursor ("": this is the last page); link makes an
// address from the paging parameters.
func (p pager) links(next string, link func(url.Values) string) pageLinks {
	at := func(after string, prev []string, page int) string {
		v := url.Values{}
		if after != "" {
			v.Set("after", after)
			if len(prev) > 0 {
				v.Set("prev", strings.Join(prev, ","))
			}
			if page > 1 {
				v.Set("page", strconv.Itoa(page))
			}
		}
		return link(v)
	}
	var l pageLinks
	if p.after != "" {
		l.First = at("", nil, 0)
		if p.page > 1 {
			l.Page = p.page
		}
		switch {
		case len(p.prev) > 0:
			l.Prev = at(p.prev[len(p.prev)-1], p.prev[:len(p.prev)-1], p.page-1)
		case p.page == 2:
			l.Prev = l.First
		}
	}
	if next != "" {
		prev := p.prev
		if p.after != "" {
			prev = append(prev[:len(prev):len(prev)], p.after)
		}
		if len(prev) > maxTrail {
			prev = prev[len(prev)-maxTrail:]
		}
		page := 0
		if p.page > 0 {
			page = p.page + 1
		}
		l.Next = at(next, prev, page)
	}
	return l
}
