package fraud

import "time"

// Day is a calendar date in a group's time zone, as days since 1970-01-01.
type Day int32

// dayOf is the date of t in loc.
func dayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// civil is d's year, month and day.
func (d Day) civil() (int, time.Month, int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

// start is the instant d begins in loc: its local midnight (or, on a day
// whose midnight a daylight-saving change skips, the first instant after).
func (d Day) start(loc *time.Location) time.Time {
	y, m, dd := d.civil()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// String is the ISO date, "2026-03-14".
func (d Day) String() string {
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}

// parseDay is the inverse of String.
func parseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return Day(t.Unix() / 86400), nil
}
