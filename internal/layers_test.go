// The import rule of the whole module, enforced: imports run one way,
//
//	cmd -> daemon -> tiers (scp, redirect, b2bua, admin) -> signals (stir,
//	keys, reputation, fraud) and sipcall -> policy -> store -> e164
//	(and internal/prefetch and internal/hugepages, hints to the CPU and
//	the kernel, beside it)
//
// tiers never import each other, nothing outside cmd/ (and bench/, whose
// programs are tools like cmd's) and tests imports simulators/, bench/ or
// a test-helper package, sigtran/* is the SCP's protocol stack (imported
// by scp, sigtran itself, simulators, the daemon and its configuration,
// and programs), and policy imports only e164, store and its own
// subpackages. A new top-level package must be placed in classify.
package internal_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "callgate/"

// Layers, lowest first. A package may import packages of its own layer or
// lower ones, with the exceptions in forbidden.
const (
	layerE164  = iota
	layerStack // sigtran/*: protocol codecs, below everything that speaks SS7
	layerStore
	layerPolicy
	layerSignals
	layerTiers
	layerDaemon // daemon, the daemon's configuration and metrics
	layerTools  // simulators, test helpers, CLI-only helpers
	layerPrograms
)

// place is where a package sits.
type place struct {
	layer int
	group string // tier name for tiers; top-level directory otherwise
	// testHelper, simulator and bench mark the packages only programs and
	// tests may import; cliOnly the helpers only cmd may import.
	testHelper, simulator, bench, cliOnly bool
}

// classify places a package (path without the module prefix).
func classify(p string) (place, error) {
	top, _, _ := strings.Cut(p, "/")
	last := p[strings.LastIndex(p, "/")+1:]
	switch {
	case p == "internal", // this test
		p == "internal/crosstier", p == "internal/e2e", p == "internal/tsharktest", p == "internal/vectortest", p == "internal/benchcpu",
		strings.HasSuffix(last, "test") && last != "test":
		return place{layer: layerTools, group: top, testHelper: true}, nil
	case top == "cmd":
		return place{layer: layerPrograms, group: top}, nil
	case top == "bench":
		return place{layer: layerPrograms, group: top, bench: true}, nil
	case top == "simulators":
		return place{layer: layerTools, group: top, simulator: true}, nil
	case p == "internal/cli", p == "internal/demo", p == "internal/progress":
		return place{layer: layerTools, group: top, cliOnly: true}, nil
	case top == "daemon", p == "internal/config", p == "internal/metrics":
		return place{layer: layerDaemon, group: "daemon"}, nil
	case top == "scp", top == "redirect", top == "b2bua", top == "admin":
		return place{layer: layerTiers, group: top}, nil
	case top == "stir", top == "keys", top == "reputation", top == "fraud":
		return place{layer: layerSignals, group: top}, nil
	case top == "sipcall": // what the SIP tiers share (INVITE -> Call, URI templates), below them
		return place{layer: layerSignals, group: top}, nil
	case top == "policy":
		return place{layer: layerPolicy, group: top}, nil
	case top == "store":
		return place{layer: layerStore, group: top}, nil
	case top == "sigtran":
		return place{layer: layerStack, group: top}, nil
	case top == "e164":
		return place{layer: layerE164, group: top}, nil
	case p == "internal/prefetch": // a CPU hint, imports nothing of ours
		return place{layer: layerE164, group: "prefetch"}, nil
	case p == "internal/hugepages": // a memory hint to the kernel, imports nothing of ours
		return place{layer: layerE164, group: "hugepages"}, nil
	case p == "internal/selfsigned": // a certificate maker (sipsim, TLS tests), imports nothing of ours
		return place{layer: layerE164, group: "selfsigned"}, nil
	case p == "internal/tlsaccept": // a TLS listener for the SIP tiers, imports nothing of ours
		return place{layer: layerE164, group: "tlsaccept"}, nil
	case p == "internal/when": // the CLI's and the API's time forms, imports nothing of ours
		return place{layer: layerE164, group: "when"}, nil
	}
	return place{}, fmt.Errorf("%s%s is in no layer: place it in classify (internal/layers_test.go)", module, p)
}

// pkg is one package of `go list -deps -json` (non-test imports).
type pkg struct {
	ImportPath string
	Imports    []string
}

// violations lists every import of pkgs that breaks the rule.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok {
			continue
		}
		fp, err := classify(from)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		for _, imp := range p.Imports {
			to, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			tp, err := classify(to)
			if err != nil {
				out = append(out, err.Error())
				continue
			}
			if why := forbidden(from, fp, to, tp); why != "" {
				out = append(out, fmt.Sprintf("%s imports %s: %s", from, to, why))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// forbidden says why from may not import to, or "".
func forbidden(from string, fp place, to string, tp place) string {
	program := fp.layer == layerPrograms
	switch {
	case tp.testHelper && !program && !fp.testHelper:
		return "a test helper is for tests and programs only"
	case tp.simulator && !program && !fp.simulator && !fp.testHelper:
		return "simulators are for tests and programs (cmd, bench) only"
	case tp.bench && !fp.bench:
		return "bench/ is imported by nothing"
	case tp.cliOnly && fp.group != "cmd":
		return "a helper of the CLI, for cmd/ only"
	case tp.group == "sigtran" && !(fp.group == "sigtran" || fp.group == "scp" || fp.simulator || fp.testHelper ||
		fp.layer == layerDaemon || program):
		return "sigtran is the SCP's protocol stack: only scp, sigtran, simulators, the daemon and programs import it"
	case fp.group == "sigtran" && tp.group != "sigtran":
		return "sigtran imports only sigtran"
	case fp.group == "policy" && !(tp.group == "policy" || tp.group == "store" || tp.group == "e164"):
		return "policy imports only e164, store and its own subpackages"
	case fp.layer == layerTiers && tp.layer == layerTiers && fp.group != tp.group:
		return "tiers never import each other (share through policy, or a package below)"
	case fp.layer == layerTiers && to == "internal/config":
		return "a tier takes its own Config; the daemon maps the configuration onto it"
	case tp.layer > fp.layer:
		return fmt.Sprintf("imports run cmd -> daemon -> tiers -> signals -> policy -> store -> e164, not upwards (layer %d imports layer %d)", fp.layer, tp.layer)
	}
	return ""
}

func TestImportLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	ours := 0
	for _, p := range pkgs {
		if strings.HasPrefix(p.ImportPath, module) {
			ours++
		}
	}
	if ours < 20 {
		t.Fatalf("go list found %d of our packages: not the module's graph", ours)
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// The checker catches each kind of violation (a test of the test).
func TestImportLayersCatchesViolations(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     string
	}{
		{"scp", "redirect", "tiers never import each other"},
		{"b2bua", "scp/ain", "tiers never import each other"},
		{"scp", "internal/config", "takes its own Config"},
		{"scp", "daemon", "not upwards"},
		{"policy", "scp", "policy imports only"},
		{"policy", "stir", "policy imports only"},
		{"store", "policy", "not upwards"},
		{"e164", "store", "not upwards"},
		{"redirect", "sigtran/sccp", "protocol stack"},
		{"sigtran/m3ua", "e164", "sigtran imports only sigtran"},
		{"scp", "simulators/ssp", "simulators are for tests"},
		{"store", "store/storetest", "test helper"},
		{"daemon", "internal/demo", "helper of the CLI"},
		{"daemon", "bench/sip/gendata", "imported by nothing"},
		{"stir", "redirect", "not upwards"},
		{"newthing", "e164", "in no layer"},
	} {
		v := violations([]pkg{{ImportPath: module + tc.from, Imports: []string{module + tc.to}}})
		if len(v) != 1 || !strings.Contains(v[0], tc.want) {
			t.Errorf("%s -> %s: %v, want %q", tc.from, tc.to, v, tc.want)
		}
	}
	for _, ok := range [][2]string{
		{"cmd/callgate", "daemon"}, {"daemon", "scp"}, {"daemon", "sigtran/m3ua"}, {"scp", "sigtran/tcap"},
		{"scp", "policy/decisionlog"}, {"redirect", "policy/token"}, {"policy/token", "policy"},
		{"bench/sip/gendata", "store/storetest"}, {"simulators/ssp", "scp/ain"}, {"cmd/sspsim", "simulators/ssp"},
		{"b2bua", "stir"}, {"internal/metrics", "policy/decisionlog"}, {"store/storetest", "store"},
	} {
		if v := violations([]pkg{{ImportPath: module + ok[0], Imports: []string{module + ok[1]}}}); len(v) != 0 {
			t.Errorf("%s -> %s refused: %v", ok[0], ok[1], v)
		}
	}
}
