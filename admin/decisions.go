package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
	"callgate/internal/when"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// decisionView is one decision-log record as the API shows it: the call,
// the answer, and the trace with what each rule means (the full story of
// one call). ID is the record's place in the log (decisionID), the key of
// GET /api/v1/decisions/{at}.
type decisionView struct {
	ID             string              `json:"id"`
	Time           time.Time           `json:"time"`
	Origin         policy.Origin       `json:"origin"`
	Peer           string              `json:"peer,omitempty"`
	Calling        e164.Number         `json:"calling,omitempty"`
	Called         e164.Number         `json:"called"`
	OriginalCalled e164.Number         `json:"original_called,omitempty"`
	Presentation   policy.Presentation `json:"presentation"`
	Attestation    policy.Attestation  `json:"attestation,omitempty"`
	Subscriber     string              `json:"subscriber,omitempty"`
	Decision       policy.Decision     `json:"decision"`
	Explained      []explainedStep     `json:"explained"`
	LatencyMicros  int64               `json:"latency_us"`
	recordDetail                       // decisiondetail.go: the rest of the record, the B2BUA's steps
}

type explainedStep struct {
	Rule    string `json:"rule"`
	Outcome string `json:"outcome"`
	Meaning string `json:"meaning"`
}

func explain(t policy.Trace) []explainedStep {
	out := []explainedStep{}
	for _, s := range t.Steps() {
		out = append(out, explainedStep{s.Rule.String(), s.Outcome.String(), s.Rule.Help()})
	}
	return out
}

func (c *call) viewRecord(r *decisionlog.Record) decisionView {
	v := decisionView{ID: strconv.FormatInt(r.Time.UnixNano(), 10), Time: r.Time, Origin: r.Origin, Peer: r.Peer,
		Calling: r.Calling, Called: r.Called, OriginalCalled: r.OriginalCalled, Presentation: r.Presentation,
		Attestation: r.Attestation, Decision: r.Decision(), Explained: explain(r.Trace), LatencyMicros: r.Latency.Microseconds(),
		recordDetail: detailOf(r)}
	if s, ok := c.t.st.SubscriberByID(r.Subscriber); ok {
		v.Subscriber = s.Name
	}
	return v
}

// viewAt is viewRecord for a record found at pos, with pos as its ID.
func (c *call) viewAt(r *decisionlog.Record, pos decisionlog.Pos) decisionView {
	v := c.viewRecord(r)
	v.ID = decisionID(pos)
	return v
}

// decisionID is the id of the record at p: "<time in Unix ns>.<seq>". The
// time alone does not name one record: the SCP stamps every query of one
// read from the association with the time of the read.
func decisionID(p decisionlog.Pos) string {
	return strconv.FormatInt(p.Time, 10) + "." + strconv.FormatUint(p.Seq, 10)
}

// parseDecisionID reads an id decisionID made, or the time alone that ids
// were before (Seq 0: the first record at that time the actor may see).
func parseDecisionID(s string) (decisionlog.Pos, bool) {
	ts, seq, dotted := strings.Cut(s, ".")
	var p decisionlog.Pos
	var err error
	if p.Time, err = strconv.ParseInt(ts, 10, 64); err != nil || p.Time < 0 {
		return p, false
	}
	if dotted {
		if p.Seq, err = strconv.ParseUint(seq, 10, 64); err != nil || p.Seq == 0 {
			return p, false
		}
	}
	return p, true
}

// findDecision returns the record with id p that actor may see.
func findDecision(t *Tier, actor store.Actor, p decisionlog.Pos) (decisionView, bool, error) {
	at := time.Unix(0, p.Time)
	q := decisionlog.Query{From: at, To: at.Add(time.Nanosecond), Limit: 1}
	if p.Seq != 0 {
		q.After = decisionlog.Pos{Time: p.Time, Seq: p.Seq + 1} // p itself first
	}
	cl := &call{t: t, actor: actor}
	for {
		res, err := t.dlog.Find(q)
		recs, pos := res.Records, res.Pos
		if err != nil || len(recs) == 0 {
			return decisionView{}, false, err
		}
		if p.Seq != 0 && pos[0].Seq != p.Seq {
			return decisionView{}, false, nil
		}
		if t.st.MaySee(actor, recs[0].Subscriber) {
			return cl.viewAt(&recs[0], pos[0]), true, nil
		}
		if p.Seq != 0 {
			return decisionView{}, false, nil
		}
		q.After = pos[0]
	}
}

func (c *call) decisionLog() (*decisionlog.Log, error) {
	if c.t.dlog == nil {
		return nil, &apiError{status: http.StatusNotFound, field: "path", err: errors.New("the decision log is off (decision_log.enabled)")}
	}
	// Decisions of the last flush interval are found too.
	if err := c.t.dlog.Flush(); err != nil {
		return nil, err
	}
	return c.t.dlog, nil
}

// decisionPage is a page of the decision log, with what the search could
// not read (decisionlog.Damage): a page that skipped damaged segments says
// so, so that "no call matches" is not taken for proof.
type decisionPage struct {
	page[decisionView]
	Damaged *decisionlog.Damage `json:"damaged,omitempty"`
	Warning string              `json:"warning,omitempty"`
}

// noteDamage adds a search's damage to the page.
func (p *decisionPage) noteDamage(d decisionlog.Damage) {
	if !d.Any() {
		return
	}
	if p.Damaged == nil {
		p.Damaged = &decisionlog.Damage{}
	}
	p.Damaged.Segments += d.Segments
	p.Damaged.Blocks += d.Blocks
	p.Damaged.Records += d.Records
	p.Warning = "the decision log is damaged: " + p.Damaged.String()
}

// searchDecisions searches the log, newest first; only records about
// subscribers the actor may see are returned. The cursor is the id of the
// last record returned (the next page starts after it): a time alone
// would skip, at a page's end, the other records of that time.
func searchDecisions(c *call) (int, any, error) {
	l, err := c.decisionLog()
	if err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	var dq decisionlog.Query
	if s := q.Get("number"); s != "" {
		if dq.Number, err = e164.Parse(s); err != nil {
			return 0, nil, fieldErr("number", err)
		}
	}
	if dq.From, err = parseTime("since", q.Get("since")); err != nil {
		return 0, nil, err
	}
	if dq.To, err = parseTime("until", q.Get("until")); err != nil {
		return 0, nil, err
	}
	if s := q.Get("action"); s != "" {
		a, ok := policy.ParseAction(s)
		if !ok {
			return 0, nil, badRequest("action", "action %q: not a decision action", s)
		}
		dq.Action, dq.NoAction = a, a == 0 // "none": the IVR's calls
	}
	lim, err := c.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	cur, err := c.cursor()
	if err != nil {
		return 0, nil, err
	}
	if cur != "" {
		p, ok := parseDecisionID(cur)
		if !ok {
			return 0, nil, badRequest("cursor", "cursor: not one this API returned")
		}
		if p.Seq == 0 {
			dq.To = time.Unix(0, p.Time) // a cursor of an older build: the time alone
		} else {
			dq.After = p
		}
	}
	out := decisionPage{page: page[decisionView]{Items: []decisionView{}}}
	// Records of other tenants are left out by the search itself, in one
	// pass: a provider's or subscriber's page of a log mostly of other
	// tenants' calls was many searches, each re-walking the log from
	// the cursor (BenchmarkTenantPage). One more than the page tells
	// whether there is a next.
	if c.actor.Role != store.RoleOperator {
		st, actor := c.t.st, c.actor
		dq.Subscriber = func(id uint32) bool { return st.MaySee(actor, id) }
	}
	dq.Limit = lim + 1
	res, err := l.Find(dq)
	if err != nil {
		return 0, nil, err
	}
	out.noteDamage(res.Damage)
	recs, pos := res.Records, res.Pos
	for i := range recs[:min(len(recs), lim)] {
		out.Items = append(out.Items, c.viewAt(&recs[i], pos[i]))
	}
	if len(recs) > lim {
		out.NextCursor = encodeCursor(out.Items[lim-1].ID)
	}
	c.addSteps(l, out.Items)
	return http.StatusOK, out, nil
}

// parseTime reads the query parameter field (since, until) in the forms
// the CLI's --since and --until take (internal/when): a duration back
// from now (90m, 2h, 7d) or a time, RFC 3339 or without a zone in the
// daemon's zone. A bad one is a 400 naming the field.
func parseTime(field, s string) (time.Time, error) {
	t, err := when.Parse(s, time.Now(), time.Local)
	if err != nil {
		return time.Time{}, badRequest(field, "%s: %v", field, err)
	}
	return t, nil
}

// decisionStory returns the records logged at one instant (normally
// one): a call's full story.
func decisionStory(c *call) (int, any, error) {
	l, err := c.decisionLog()
	if err != nil {
		return 0, nil, err
	}
	p, ok := parseDecisionID(c.r.PathValue("at"))
	if !ok {
		return 0, nil, badRequest("at", "decision id %q: want the id from a search", c.r.PathValue("at"))
	}
	v, found, err := findDecision(c.t, c.actor, p)
	if err != nil {
		return 0, nil, err
	}
	if !found {
		return 0, nil, fieldErr("at", fmt.Errorf("decision %s: %w", c.r.PathValue("at"), store.ErrNotFound))
	}
	vs := []decisionView{v}
	c.addSteps(l, vs)
	return http.StatusOK, vs[0], nil
}

type decideRequest struct {
	Calling        string              `json:"calling,omitempty"` // "" or "anonymous": none
	Called         string              `json:"called"`
	OriginalCalled string              `json:"original_called,omitempty"`
	Presentation   policy.Presentation `json:"presentation,omitempty"`
	Origin         policy.Origin       `json:"origin,omitempty"`
	Attestation    policy.Attestation  `json:"attestation,omitempty"`
	// Key and Reputation give the signal stage's answers by hand.
	Key        *policy.KeyMatch   `json:"key,omitempty"`
	Reputation *policy.Reputation `json:"reputation,omitempty"`
}

// decide asks the engine about a call without logging it. A provider or
// subscriber may ask only about calls to numbers it may see.
func decide(c *call) (int, any, error) {
	if c.t.decide == nil {
		return 0, nil, &apiError{status: http.StatusNotFound, field: "path", err: errors.New("decide is not available on this API")}
	}
	var req decideRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	var pc policy.Call
	var err error
	if pc.Called, err = e164.Parse(req.Called); err != nil {
		return 0, nil, fieldErr("called", err)
	}
	if req.Calling != "" && !strings.EqualFold(req.Calling, "anonymous") {
		if pc.Calling, err = e164.Parse(req.Calling); err != nil {
			return 0, nil, fieldErr("calling", err)
		}
	}
	if req.OriginalCalled != "" {
		if pc.OriginalCalled, err = e164.Parse(req.OriginalCalled); err != nil {
			return 0, nil, fieldErr("original_called", err)
		}
	}
	if c.actor.Role != store.RoleOperator {
		if _, err := c.t.st.GetSubscriber(c.actor, pc.Called.String()); err != nil {
			return 0, nil, fieldErr("called", err)
		}
	}
	pc.Presentation, pc.Origin, pc.Attestation = req.Presentation, req.Origin, req.Attestation
	if pc.Origin == 0 {
		pc.Origin = policy.OriginSIP
	}
	pc.Peer = "admin API"
	d := c.t.decide(c.r.Context(), &pc, Given{Key: req.Key, Reputation: req.Reputation})
	rec := decisionlog.NewRecord(time.Now(), &pc, &d, 0)
	v := c.viewRecord(&rec)
	v.Decision = d // with what a record keeps no trace of (the display tag, reject_identity)
	return http.StatusOK, v, nil
}
