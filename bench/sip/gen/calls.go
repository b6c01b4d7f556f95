package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// want is the answer a call must get: the third field of the injection
// file, the same one the sipp scenario (uac-mix.xml) checks.
type want uint8

const (
	wantDecline  want = iota // "603"
	wantContinue             // "302-continue": Contact to the continue route
	wantScreen               // "302-screen": Contact to the B2BUA's sip:screen@ URI
	numWants
)

var wantNames = [numWants]string{"603", "302-continue", "302-screen"}

func (w want) String() string { return wantNames[w] }

// callSpec is one line of the injection file.
type callSpec struct {
	calling, called string
	want            want
}

// loadCalls reads a sipp injection file written by bench/sip/gendata: an
// optional SEQUENTIAL/RANDOM header, then calling;called;expected per line.
func loadCalls(r io.Reader) ([]callSpec, error) {
	var calls []callSpec
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || line == 1 && (t == "SEQUENTIAL" || t == "RANDOM" || t == "USER") {
			continue
		}
		f := strings.Split(t, ";")
		if len(f) < 3 || f[0] == "" || f[1] == "" {
			return nil, fmt.Errorf("line %d %q: want calling;called;expected", line, t)
		}
		c := callSpec{calling: f[0], called: f[1]}
		switch f[2] {
		case "603":
			c.want = wantDecline
		case "302-continue":
			c.want = wantContinue
		case "302-screen":
			c.want = wantScreen
		default:
			return nil, fmt.Errorf("line %d: expected answer %q is none of 603, 302-continue, 302-screen", line, f[2])
		}
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(calls) == 0 {
		return nil, errors.New("no calls in the injection file")
	}
	return calls, nil
}
