package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"callgate/internal/vectortest"
	"callgate/simulators/ssp/dissect"
)

// cli runs one sspsim command in-process.
type result struct {
	out, err string
	code     int
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code := e.run(args)
	return result{out.String(), errb.String(), code}
}

var vectors = filepath.Join("..", "..", "testdata", "vectors")

type manifestMsg struct {
	ID    string `json:"id"`
	Pcap  string `json:"pcap"`
	Frame int    `json:"frame"`
	M3UA  struct {
		Name           string          `json:"name"`
		OPC            string          `json:"opc"`
		DPC            string          `json:"dpc"`
		SLS            uint8           `json:"sls"`
		RoutingContext json.RawMessage `json:"routingContext"`
	} `json:"m3ua"`
	SCCP *struct {
		MessageType string `json:"messageType"`
		Called      struct {
			SSN       uint8  `json:"ssn"`
			PointCode string `json:"pointCode"`
		} `json:"called"`
		Calling struct {
			SSN       uint8  `json:"ssn"`
			PointCode string `json:"pointCode"`
		} `json:"calling"`
		ReturnOnError bool `json:"returnOnError"`
	} `json:"sccp"`
	TCAP *struct {
		Package        string `json:"package"`
		OriginatingTID string `json:"originatingTID"`
		RespondingTID  string `json:"respondingTID"`
		PAbortCause    *struct {
			Value uint8  `json:"value"`
			Name  string `json:"name"`
		} `json:"pAbortCause"`
		Components []struct {
			Type          string `json:"type"`
			InvokeID      *uint8 `json:"invokeID"`
			CorrelationID *uint8 `json:"correlationID"`
			ComponentID   *uint8 `json:"componentID"`
			Opcode        *struct {
				Value uint16  `json:"value"`
				Name  *string `json:"name"`
			} `json:"opcode"`
			Problem *struct {
				Type, Specifier uint8
				Name            string `json:"name"`
			} `json:"problem"`
			Parameters map[string]json.RawMessage `json:"parameters"`
		} `json:"components"`
	} `json:"tcap"`
	Hex struct {
		M3UA, SCCP, TCAP string
	} `json:"hex"`
}

func loadManifest(t *testing.T) []manifestMsg {
	t.Helper()
	msgs := vectortest.Messages[manifestMsg](t)
	if len(msgs) != 21 {
		t.Fatalf("manifest has %d messages", len(msgs))
	}
	return msgs
}

type decodeOut struct {
	Messages []dissect.Message `json:"messages"`
}

// checkTCAP compares the decoded TCAP/AIN layer with the manifest.
func checkTCAP(t *testing.T, id string, want *manifestMsg, got *dissect.TCAPLayer) {
	t.Helper()
	w := want.TCAP
	if got == nil {
		t.Errorf("%s: no TCAP layer", id)
		return
	}
	if got.Package != w.Package || got.OrigTID != w.OriginatingTID || got.RespTID != w.RespondingTID {
		t.Errorf("%s: tcap %s otid %q rtid %q, want %s %q %q", id, got.Package, got.OrigTID, got.RespTID, w.Package, w.OriginatingTID, w.RespondingTID)
	}
	if w.PAbortCause != nil && (got.AbortCause != w.PAbortCause.Name || got.AbortCauseCode != w.PAbortCause.Value) {
		t.Errorf("%s: abort cause %q %d, want %+v", id, got.AbortCause, got.AbortCauseCode, *w.PAbortCause)
	}
	if len(got.Components) != len(w.Components) {
		t.Errorf("%s: %d components, want %d", id, len(got.Components), len(w.Components))
		return
	}
	for i, wc := range w.Components {
		gc := got.Components[i]
		if gc.TypeName != wc.Type {
			t.Errorf("%s comp %d: type %s, want %s", id, i, gc.TypeName, wc.Type)
		}
		eq := func(a, b *uint8) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
		if wc.Type == "reject" {
			if !eq(gc.CorrelationID, wc.ComponentID) || gc.ProblemName != wc.Problem.Name ||
				gc.ProblemCode != strconv.Itoa(int(wc.Problem.Type))+"/"+strconv.Itoa(int(wc.Problem.Specifier)) {
				t.Errorf("%s comp %d: reject %+v, want %+v", id, i, gc, wc.Problem)
			}
			continue
		}
		if !eq(gc.InvokeID, wc.InvokeID) || !eq(gc.CorrelationID, wc.CorrelationID) {
			t.Errorf("%s comp %d: ids %v/%v", id, i, gc.InvokeID, gc.CorrelationID)
		}
		if wc.Opcode != nil {
			if gc.OpCode != "0x"+strconv.FormatUint(uint64(wc.Opcode.Value), 16) {
				t.Errorf("%s comp %d: opcode %s, want %d", id, i, gc.OpCode, wc.Opcode.Value)
			}
			if wc.Opcode.Name != nil && gc.Operation != *wc.Opcode.Name {
				t.Errorf("%s comp %d: operation %s, want %s", id, i, gc.Operation, *wc.Opcode.Name)
			}
			if wc.Opcode.Name == nil && gc.DecodeError == "" {
				t.Errorf("%s comp %d: unknown operation decoded without an error", id, i)
			}
		}
		names := map[string]bool{}
		for _, f := range gc.Params {
			names[f.Name] = true
			if strings.Contains(f.Name, "GapInterval") {
				names["gapInterval"] = true
			}
		}
		for p := range wc.Parameters {
			if !names[p] {
				t.Errorf("%s comp %d: parameter %s missing from %+v", id, i, p, gc.Params)
			}
		}
		if len(wc.Parameters) > 0 && gc.DecodeError != "" {
			t.Errorf("%s comp %d: decode error %s", id, i, gc.DecodeError)
		}
	}
}

// Every golden capture decodes, in JSON, to the manifest's values, layer
// by layer; the text output carries the same key facts.
func TestDecodeGoldenPcaps(t *testing.T) {
	man := loadManifest(t)
	byFile := map[string][]manifestMsg{}
	for _, m := range man {
		byFile[m.Pcap] = append(byFile[m.Pcap], m)
	}
	byFile["public_all.pcap"] = man
	for file, want := range byFile {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(vectors, file)
			r := run(t, "", "decode", "--json", path)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			var got decodeOut
			if err := json.Unmarshal([]byte(r.out), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Messages) != len(want) {
				t.Fatalf("%d messages, want %d", len(got.Messages), len(want))
			}
			for i, w := range want {
				g := got.Messages[i]
				if file != "public_all.pcap" && g.Frame != w.Frame {
					t.Errorf("%s: frame %d, want %d", w.ID, g.Frame, w.Frame)
				}
				if len(g.Errors) > 0 {
					t.Errorf("%s: errors %v", w.ID, g.Errors)
				}
				if g.M3UA == nil || g.M3UA.Name != w.M3UA.Name {
					t.Errorf("%s: m3ua %+v, want %s", w.ID, g.M3UA, w.M3UA.Name)
					continue
				}
				if w.M3UA.Name != "DATA" {
					continue
				}
				l := g.M3UA
				if l.OPC != w.M3UA.OPC || l.DPC != w.M3UA.DPC || *l.SLS != w.M3UA.SLS || *l.SI != 3 || *l.NI != 2 ||
					l.RoutingContext == nil || strconv.Itoa(int(*l.RoutingContext)) != string(w.M3UA.RoutingContext) {
					t.Errorf("%s: m3ua %+v", w.ID, l)
				}
				s := g.SCCP
				if s == nil || s.Type != w.SCCP.MessageType || *s.ReturnOnError != w.SCCP.ReturnOnError ||
					s.Called.PointCode != w.SCCP.Called.PointCode || *s.Called.SSN != w.SCCP.Called.SSN ||
					s.Calling.PointCode != w.SCCP.Calling.PointCode || *s.Calling.SSN != w.SCCP.Calling.SSN {
					t.Errorf("%s: sccp %+v", w.ID, s)
				}
				checkTCAP(t, w.ID, &w, g.TCAP)
			}
			text := run(t, "", "decode", path)
			if text.code != 0 || strings.Count(text.out, "== frame ") != len(want) {
				t.Fatalf("text: exit %d, %d frames\n%s", text.code, strings.Count(text.out, "== frame "), text.out)
			}
		})
	}
	// Key text lines of one answer.
	r := run(t, "", "decode", filepath.Join(vectors, "ta_acg.pcap"))
	for _, s := range []string{"M3UA  DATA", "routing context 10", "OPC 244-2-20  DPC 244-1-10  SI 3  NI 2  MP 0  SLS 5",
		"SCCP  ANSI UDT, class 0, return on error", "called:  route on SSN pc 244-1-10 ssn 249",
		"TCAP  response  rtid 00000105", "invokeLast id 2 acg (0x6901)", "globalTitleAddress: 303555",
		"nationalGapInterval: national 1 s", "gapDuration: 16 s", "invokeLast id 3 corr 1 authorizeTermination (0x6502)",
		"callingPartyID: +13125550166 (noa national, np isdn, presentation allowed, screening network provided)"} {
		if !strings.Contains(r.out, s) {
			t.Errorf("text output lacks %q", s)
		}
	}
}

// The manifest's hex at each layer (M3UA, SCCP, bare TCAP), with spaces or
// colons, auto-detects and decodes to the same TCAP/AIN.
func TestDecodeHexAutoDetect(t *testing.T) {
	for _, w := range loadManifest(t) {
		if w.TCAP == nil {
			continue
		}
		forms := map[string]string{"m3ua": w.Hex.M3UA, "sccp": w.Hex.SCCP, "tcap": w.Hex.TCAP}
		for layer, h := range forms {
			spaced := spaceHex(h, layer == "sccp")
			r := run(t, "", "decode", "--json", spaced)
			if r.code != 0 {
				t.Errorf("%s %s: exit %d %s %s", w.ID, layer, r.code, r.err, r.out)
				continue
			}
			var got decodeOut
			if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got.Messages) != 1 {
				t.Fatalf("%s %s: %v %d messages", w.ID, layer, err, len(got.Messages))
			}
			g := got.Messages[0]
			if g.Kind != strings.ToUpper(layer) || (layer == "m3ua") != (g.M3UA != nil) || (layer == "tcap") != (g.SCCP == nil) {
				t.Errorf("%s %s: detected %s", w.ID, layer, g.Kind)
			}
			checkTCAP(t, w.ID+" "+layer, &w, g.TCAP)
		}
	}
	// Shell-split hex ("e4 35 c7 ..." as separate arguments) is one input;
	// two M3UA messages back to back are two messages.
	man := loadManifest(t)
	args := append([]string{"decode", "--json"}, strings.Fields(spaceHex(man[8].Hex.TCAP, false))...)
	r := run(t, "", args...)
	var got decodeOut
	if json.Unmarshal([]byte(r.out), &got); r.code != 0 || len(got.Messages) != 1 || got.Messages[0].TCAP.Components[0].Operation != "authorizeTermination" {
		t.Fatalf("split args: exit %d %s", r.code, r.out)
	}
	r = run(t, "", "decode", "--json", man[7].Hex.M3UA+man[8].Hex.M3UA)
	if json.Unmarshal([]byte(r.out), &got); r.code != 0 || len(got.Messages) != 2 || got.Messages[1].Offset != len(man[7].Hex.M3UA)/2 {
		t.Fatalf("two messages: exit %d %s", r.code, r.out)
	}
	// Standard input, one input per line.
	r = run(t, man[7].Hex.TCAP+"\n# comment\n"+man[8].Hex.SCCP+"\n", "decode", "-")
	if r.code != 0 || !strings.Contains(r.out, "hex input 1 message 1") || !strings.Contains(r.out, "== hex input 2") {
		t.Fatalf("stdin: exit %d\n%s", r.code, r.out)
	}
}

func spaceHex(h string, colons bool) string {
	sep := " "
	if colons {
		sep = ":"
	}
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// Bad input: each problem is reported with where it is, the other inputs
// still decode, and the exit status says something failed.
func TestDecodeBadInput(t *testing.T) {
	man := loadManifest(t)
	good := man[7].Hex.M3UA
	cases := []struct{ in, want string }{
		{"zz", "character 'z' at position 1"},
		{"abc", "odd number of hex digits"},
		{"0701", "not an M3UA message, SCCP message or TCAP package"},
		{"01000101000000ff", "message length 255 exceeds the 8 octets available at offset 4"},
		{"e2 05 c7 03 00 01", "at offset 2"},
		{good + "0700", "trailing octets at offset 104"},
	}
	for _, c := range cases {
		r := run(t, "", "decode", c.in+";"+good)
		if r.code != 1 || !strings.Contains(r.out, c.want) || !strings.Contains(r.out, "terminationAttempt") {
			t.Errorf("decode %q: exit %d, want 1 and %q and the good message decoded:\n%s", c.in, r.code, c.want, r.out)
		}
	}
	// A damaged SCCP layer inside a good M3UA message names the offset of
	// the layer in the message.
	b := []byte(man[7].Hex.M3UA)
	copy(b[(32+2)*2:], "ff") // SCCP (at offset 32): pointer to the called party address
	r := run(t, "", "decode", "--json", string(b))
	var got decodeOut
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || r.code != 1 || got.Messages[0].M3UA == nil ||
		len(got.Messages[0].Errors) != 1 || !strings.Contains(got.Messages[0].Errors[0], "SCCP") ||
		!strings.Contains(got.Messages[0].Errors[0], "layer starts at offset 32") {
		t.Fatalf("damaged SCCP: exit %d %v\n%s", r.code, err, r.out)
	}
	// Not a capture, and no arguments.
	junk := filepath.Join(t.TempDir(), "junk.pcap")
	os.WriteFile(junk, []byte("this is not a capture"), 0o644)
	if r := run(t, "", "decode", junk); r.code != 1 || !strings.Contains(r.err, "junk.pcap") {
		t.Errorf("junk file: exit %d %q", r.code, r.err)
	}
	if r := run(t, "", "decode"); r.code != 2 {
		t.Errorf("no arguments: exit %d", r.code)
	}
}

// A capture file cut short is decoded up to the cut, and the cut is
// reported once, naming the file and the frame: exit status 1.
func TestDecodeCaptureCutShort(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(vectors, "ta_authorize.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, b[:len(b)-10], 0o644)
	r := run(t, "", "decode", cut)
	if r.code != 1 || !strings.Contains(r.out, "terminationAttempt") || strings.Count(r.err, "cut.pcap") != 1 ||
		!strings.Contains(r.err, "ends inside frame 2") {
		t.Errorf("exit %d, stderr %q, want frame 1 decoded and the cut in frame 2 reported once", r.code, r.err)
	}
}
