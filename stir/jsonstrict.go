package stir

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// A strict reader for the small JSON objects of a PASSporT. encoding/json
// is unfit for a security check here in two ways: a repeated key silently
// takes the last value (a verifier reading the first would disagree with
// the signer), and struct fields match keys case-insensitively ("ATTEST"
// would fill attest). This reader validates the whole text, refuses
// duplicate keys in every object, and hands back exact keys with their raw
// values; scalar values are then decoded one by one with their types checked.

// member is one key of an object and its raw JSON value.
type member struct {
	key string
	val []byte
}

const maxJSONDepth = 16

var errJSONTrailing = errors.New("JSON: text after the object")

// objectMembers parses data, which must be one JSON object (whitespace
// around it allowed), and returns its members in order.
func objectMembers(data []byte) ([]member, error) {
	p := jsonParser{b: data}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, errors.New("JSON: not an object")
	}
	var out []member
	if err := p.object(0, &out); err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, errJSONTrailing
	}
	return out, nil
}

// find returns the raw value of key, or nil.
func find(ms []member, key string) []byte {
	for i := range ms {
		if ms[i].key == key {
			return ms[i].val
		}
	}
	return nil
}

// jsonString decodes raw as a JSON string; ok is false for any other type.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	simple := true
	for _, c := range body {
		if c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		return string(body), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonNumber decodes raw as a JSON number, truncated to whole seconds.
func jsonNumber(raw []byte) (int64, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, false
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != f || f > 1<<62 || f < -(1<<62) {
		return 0, false
	}
	return int64(f), true
}

// jsonStringArray decodes raw as an array of strings.
func jsonStringArray(raw []byte) ([]string, bool) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	p := jsonParser{b: raw, i: 1}
	var out []string
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		return out, true
	}
	for {
		p.ws()
		start := p.i
		if p.i >= len(p.b) || p.b[p.i] != '"' || p.str() != nil {
			return nil, false
		}
		s, ok := jsonString(p.b[start:p.i])
		if !ok {
			return nil, false
		}
		out = append(out, s)
		p.ws()
		if p.i >= len(p.b) {
			return nil, false
		}
		if p.b[p.i] == ']' {
			return out, true
		}
		if p.b[p.i] != ',' {
			return nil, false
		}
		p.i++
	}
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) errf(format string, a ...any) error {
	return fmt.Errorf("JSON at byte %d: %s", p.i, fmt.Sprintf(format, a...))
}

// object parses an object at p.i; members are appended to out when out is
// not nil (the top level), and duplicate keys are refused at every level.
func (p *jsonParser) object(depth int, out *[]member) error {
	if depth > maxJSONDepth {
		return p.errf("nested too deeply")
	}
	p.i++ // '{'
	var keys []string
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.ws()
		start := p.i
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return p.errf("want a key")
		}
		if err := p.str(); err != nil {
			return err
		}
		key, ok := jsonString(p.b[start:p.i])
		if !ok {
			return p.errf("bad key")
		}
		for _, k := range keys {
			if k == key {
				return p.errf("key %q appears twice", key)
			}
		}
		keys = append(keys, key)
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return p.errf("want ':'")
		}
		p.i++
		p.ws()
		vstart := p.i
		if err := p.value(depth + 1); err != nil {
			return err
		}
		if out != nil {
			*out = append(*out, member{key: key, val: p.b[vstart:p.i]})
		}
		p.ws()
		if p.i >= len(p.b) {
			return p.errf("unterminated object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.errf("want ',' or '}'")
		}
	}
}

func (p *jsonParser) value(depth int) error {
	if p.i >= len(p.b) {
		return p.errf("want a value")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth, nil)
	case c == '[':
		if depth > maxJSONDepth {
			return p.errf("nested too deeply")
		}
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return nil
		}
		for {
			p.ws()
			if err := p.value(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.i >= len(p.b) {
				return p.errf("unterminated array")
			}
			if p.b[p.i] == ']' {
				p.i++
				return nil
			}
			if p.b[p.i] != ',' {
				return p.errf("want ',' or ']'")
			}
			p.i++
		}
	case c == '"':
		return p.str()
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.num()
	}
	return p.errf("unexpected %q", p.b[p.i])
}

func (p *jsonParser) lit(s string) error {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return p.errf("bad literal")
	}
	p.i += len(s)
	return nil
}

// str skips a string, validating escapes and control characters.
func (p *jsonParser) str() error {
	p.i++ // opening quote
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return nil
		case c < 0x20:
			return p.errf("control character in string")
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return p.errf("unterminated escape")
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.b) {
					return p.errf("short \\u escape")
				}
				for _, h := range p.b[p.i+2 : p.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return p.errf("bad \\u escape")
					}
				}
				p.i += 6
			default:
				return p.errf("bad escape")
			}
		default:
			p.i++
		}
	}
	return p.errf("unterminated string")
}

// num skips a number per RFC 8259's grammar.
func (p *jsonParser) num() error {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if digits() == 0 {
		return p.errf("bad number")
	}
	if p.b[intStart] == '0' && p.i-intStart > 1 {
		return p.errf("leading zero in number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return p.errf("bad fraction")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return p.errf("bad exponent")
		}
	}
	_ = start
	return nil
}
