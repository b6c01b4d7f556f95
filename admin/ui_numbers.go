package admin

import (
	"strings"
	"unicode"

	"callgate/e164"
)

// formNumbers splits the numbers a person typed or pasted into a form
// field into one string per number, for the store to parse (and name
// every bad one). People paste numbers as they find them: a column of a
// spreadsheet (lines), a row of one (tabs), a mail ("+1 (312) 555-0100,
// +1 (312) 555-0101"), a web page (no-break spaces, en dashes). So:
//
//   - lines, tabs, commas and semicolons always separate numbers;
//   - spaces are part of a number ("+44 20 7946 0958") unless the part
//     is not one number and each of its space-separated words is
//     ("3125550100 3125550101"): a part that reads as one number is
//     never cut;
//   - Unicode spaces and dashes count as their ASCII forms.
func formNumbers(raw string) []string {
	raw = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == ';':
			return ','
		case unicode.Is(unicode.Zs, r):
			return ' '
		case unicode.Is(unicode.Pd, r) || r == '\u2212':
			return '-'
		}
		return r
	}, raw)
	var out []string
	for part := range strings.SplitSeq(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if words := strings.Fields(part); len(words) > 1 && !isNumber(part) && allNumbers(words) {
			out = append(out, words...)
			continue
		}
		out = append(out, part)
	}
	return out
}

func isNumber(s string) bool {
	_, err := e164.Parse(s)
	return err == nil
}

func allNumbers(ss []string) bool {
	for _, s := range ss {
		if !isNumber(s) {
			return false
		}
	}
	return true
}
