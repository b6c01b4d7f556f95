package fraud

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseCDR(t *testing.T) {
	c, err := ParseCDR([]byte("+13125550103, +442079460000 ,2026-03-02T10:04:05-06:00,754\r"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Calling != lineDave || c.Called != toLondon || c.Seconds != 754 || !c.Start.Equal(time.Date(2026, 3, 2, 16, 4, 5, 0, time.UTC)) {
		t.Fatalf("%+v", c)
	}
	c, err = ParseCDR([]byte("3125550103,+18765550100,1772467445,12.2"))
	if err != nil || c.Start.Unix() != 1772467445 || c.Seconds != 13 {
		t.Fatalf("unix start, fractional duration: %+v %v", c, err)
	}
	// Called as the line dialled it: through a carrier access code, and
	// operator-assisted.
	for _, called := range []string{"1010288011442079460000", "01442079460000"} {
		if c, err := ParseCDR([]byte("+13125550103," + called + ",1772467445,60")); err != nil || c.Called != toLondon {
			t.Errorf("called %s: %+v %v", called, c, err)
		}
	}
	if _, err := ParseCDR([]byte("calling,called,start,duration")); !errors.Is(err, errHeader) {
		t.Fatalf("header: %v", err)
	}
	for in, want := range map[string]string{
		"+13125550103,+442079460000,2026-03-02T10:04:05,1":   "RFC 3339",
		"+13125550103,+442079460000,2026-03-02T10:04:05Z":    "3 field",
		"+13125550103,+442079460000,1,1,1":                   "more than 4",
		"x,+442079460000,1,1":                                "calling",
		"+13125550103,,1,1":                                  "called",
		"+13125550103,+442079460000,1,-5":                    "duration",
		"+13125550103,+442079460000,1,86401":                 "more than 86400",
		"+13125550103,+442079460000,2026-03-02T10:04:05Z,1e": "duration",
	} {
		if _, err := ParseCDR([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func FuzzParseCDR(f *testing.F) {
	f.Add([]byte("+13125550103,+442079460000,2026-03-02T10:04:05Z,754"))
	f.Add([]byte("3125550103,011442079460000,1772467445,0.5"))
	f.Add([]byte("calling,called,start,duration"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseCDR(in)
		if err != nil {
			return
		}
		if c.Calling == 0 || c.Called == 0 || c.Seconds < 0 || c.Seconds > maxCallSeconds {
			t.Fatalf("accepted %q as %+v", in, c)
		}
		// The accepted record written back reads the same.
		line := c.Calling.String() + "," + c.Called.String() + "," + c.Start.Format(time.RFC3339Nano) + "," + strconv.FormatInt(c.Seconds, 10)
		again, err := ParseCDR([]byte(line))
		if err != nil || again.Calling != c.Calling || again.Called != c.Called || !again.Start.Equal(c.Start) || again.Seconds != c.Seconds {
			t.Fatalf("%q -> %q -> %+v %v", in, line, again, err)
		}
	})
}

// A batch with a bad row is refused whole, every bad row named; a good
// one is applied and stored before the answer.
func TestCDRBatchAllOrNothing(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now().UTC()
	good := "calling,called,start,duration\n" +
		"+13125550103,+442079460000," + now.Add(-time.Hour).Format(time.RFC3339) + ",300\n" +
		"+13125550105,+13035550100," + now.Add(-time.Hour).Format(time.RFC3339) + ",60\n"
	bad := good + "+13125550103,+442079460000,yesterday,60\n" +
		"+13125550103,+442079460000," + now.Add(3*time.Hour).Format(time.RFC3339) + ",60\n"
	h := f.m.CDRHandler()
	post := func(body, ct string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/fraud/cdrs", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		h.ServeHTTP(w, r)
		return w
	}
	w := post(bad, "text/csv")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"line":4`) || !strings.Contains(w.Body.String(), "RFC 3339") {
		t.Fatalf("bad batch: %d %s", w.Code, w.Body)
	}
	// The parse was fine for row 5 but its end is in the future: refused
	// at the check, still nothing applied.
	w = post(strings.Replace(bad, "yesterday", now.Add(-time.Hour).Format(time.RFC3339), 1), "text/csv")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "after this server") {
		t.Fatalf("future CDR: %d %s", w.Code, w.Body)
	}
	if st := f.status(f.dave); st.Completed != 0 {
		t.Fatalf("a refused batch applied %s", st.Completed)
	}
	w = post(good, "text/csv; charset=utf-8")
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"applied":2}` {
		t.Fatalf("good batch: %d %s", w.Code, w.Body)
	}
	js, _ := json.Marshal([]map[string]any{{"calling": "+15125550100", "called": "1010288 1 900 555 0100", "start": now.Add(-time.Hour).Format(time.RFC3339), "duration": 120}})
	if w = post(string(js), "application/json"); w.Code != http.StatusOK {
		t.Fatalf("JSON batch: %d %s", w.Code, w.Body)
	}
	if w = post("{}", "application/json"); w.Code != http.StatusBadRequest {
		t.Fatalf("JSON object: %d %s", w.Code, w.Body)
	}
	if w = post("x", "application/xml"); w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("XML: %d", w.Code)
	}
	// Stored before the answer: a restart keeps them.
	f.open(t)
	if f.status(f.dave).Completed != 5*Unit || f.status(f.erin).Completed != money("0.01") || f.status(f.ient).Completed != 6*Unit {
		t.Fatalf("after restart: dave %s erin %s initech %s", f.status(f.dave).Completed, f.status(f.erin).Completed, f.status(f.ient).Completed)
	}
	// A line in no group is counted, not an error.
	if err := f.m.Record(CDR{Calling: lineStranger, Called: toLondon, Start: now.Add(-time.Hour), Seconds: 60}); err != nil || f.m.Stats().Unattributed != 1 {
		t.Fatalf("stranger: %v %+v", err, f.m.Stats())
	}
}

// A CDR arriving after midnight for a call that ended before it goes to
// the day it ended, not today.
func TestLateCDRGoesToItsDay(t *testing.T) {
	f := newFixture(t)
	f.clock.Set(time.Date(2026, 3, 3, 0, 10, 0, 0, chicago))
	f.recompute(t)
	end := time.Date(2026, 3, 2, 23, 58, 0, 0, chicago)
	if err := f.m.Record(CDR{Calling: lineDave, Called: toLondon, Start: end.Add(-3 * time.Minute), Seconds: 180}); err != nil {
		t.Fatal(err)
	}
	h, _ := f.m.History(f.dave, 0)
	if h.Status.Completed != 0 || h.Days[0] != (DaySpend{Day: "2026-03-02", Spend: 3 * Unit}) {
		t.Fatalf("late CDR: today %s, history %+v", h.Status.Completed, h.Days[0])
	}
}
