package stir_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"callgate/stir"
	"callgate/stir/pki"
)

var update = flag.Bool("update", false, "rewrite testdata/stir from the corpus table")

const corpusDir = "../testdata/stir"

// corpusEntry is one INVITE of testdata/stir/manifest.json.
type corpusEntry struct {
	File         string `json:"file"`
	Name         string `json:"name"`
	At           int64  `json:"at"`
	Verdict      string `json:"verdict"`
	Reason       string `json:"reason"`
	ResponseCode int    `json:"response_code"`
	Attestation  string `json:"attestation"`
}

// TestCorpusFiles checks the signed INVITEs kept in testdata/stir (made
// from the TestCorpus table with -update, so their signatures are fixed):
// each verified offline as `callgate stir verify` does, with the committed
// trust anchor, certificates (certs/, by x5u URL) and CRL.
func TestCorpusFiles(t *testing.T) {
	if *update {
		writeCorpusFiles(t)
	}
	data, err := os.ReadFile(filepath.Join(corpusDir, "manifest.json"))
	if err != nil {
		t.Fatalf("%v (make it with go test ./stir -run 'TestCorpus' -update)", err)
	}
	var entries []corpusEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) < 60 {
		t.Fatalf("manifest holds %d INVITEs", len(entries))
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	certs := map[string][]byte{}
	var urls map[string]string
	if err := json.Unmarshal(read("certs/urls.json"), &urls); err != nil {
		t.Fatal(err)
	}
	for url, file := range urls {
		certs[url] = read("certs/" + file)
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			o := stir.Offline{Invite: read(e.File), At: time.Unix(e.At, 0), Anchors: read("root.pem"),
				CRLs: read("crl.pem"), Certs: certs, Wait: time.Millisecond}
			r, err := o.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict.String() != e.Verdict || string(r.Reason) != e.Reason || r.ResponseCode() != e.ResponseCode ||
				r.Attestation.String() != e.Attestation {
				t.Fatalf("got %s/%s/%d/%s (%s), want %s/%s/%d/%s", r.Verdict, r.Reason, r.ResponseCode(), r.Attestation,
					r.Detail, e.Verdict, e.Reason, e.ResponseCode, e.Attestation)
			}
		})
	}
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func writeCorpusFiles(t *testing.T) {
	if corpusCases == nil {
		t.Fatal("run with -run 'TestCorpus' so the table is built first")
	}
	f := getFixture(t)
	v := f.verifier(t, stir.Config{})
	os.RemoveAll(corpusDir)
	if err := os.MkdirAll(filepath.Join(corpusDir, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(corpusDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("root.pem", pki.PEM(f.pki.Root))
	crl, err := f.pki.CRL([]*big.Int{big.NewInt(revokedSerial)}, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	write("crl.pem", pki.CRLPEM(crl))
	urls := map[string]string{}
	for url, body := range f.bodies {
		name := strings.TrimPrefix(url[strings.LastIndexByte(url, '/')+1:], "/")
		urls[url] = name
		write("certs/"+name, body)
	}
	b, _ := json.MarshalIndent(urls, "", "  ")
	write("certs/urls.json", append(b, '\n'))
	var entries []corpusEntry
	for i, c := range corpusCases {
		if c.x5u == x5uUncached {
			continue // depends on the cache's state, not on the INVITE
		}
		in, at := buildCase(t, c)
		r := verifyInvite(t, v, in, at)
		name := fmt.Sprintf("%02d-%s.sip", i+1, strings.Trim(nonWord.ReplaceAllString(strings.ToLower(c.name), "-"), "-"))
		write(name, in.bytes())
		entries = append(entries, corpusEntry{File: name, Name: c.name, At: at.Unix(), Verdict: r.Verdict.String(),
			Reason: string(r.Reason), ResponseCode: r.ResponseCode(), Attestation: r.Attestation.String()})
	}
	b, _ = json.MarshalIndent(entries, "", "  ")
	write("manifest.json", append(b, '\n'))
}
