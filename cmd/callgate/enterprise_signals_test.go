package main

import (
	"strings"
	"testing"

	"callgate/keys"
)

func TestEnterpriseSignalCommands(t *testing.T) {
	c := newCLIWithStore(t)
	c.ok("enterprise", "create", "initech", "--number", "+15125550100")
	out := c.ok("enterprise", "brand", "initech")
	if !strings.Contains(out, "API token:    none") || !strings.Contains(out, "enrolment:    off") {
		t.Errorf("show before anything is set:\n%s", out)
	}
	var issued struct {
		Token    string `json:"token"`
		HasToken bool   `json:"has_token"`
	}
	jsonOf(t, c.ok("enterprise", "token", "initech", "--json"), &issued)
	if name, _, err := keys.ParseToken(issued.Token); err != nil || name != "initech" || !issued.HasToken {
		t.Errorf("issued token %q: %v", issued.Token, err)
	}
	out = c.ok("enterprise", "brand", "initech", "--name", "Initech", "--reason", "Your order")
	if !strings.Contains(out, "brand:        Initech") || !strings.Contains(out, "reason:       Your order") || !strings.Contains(out, "API token:    issued") {
		t.Errorf("brand set:\n%s", out)
	}
	c.fails(1, "https://", "enterprise", "brand", "initech", "--logo", "http://insecure.example/logo.png")
	c.fails(1, `"`, "enterprise", "brand", "initech", "--name", `Ini"tech`)
	c.fails(2, "--trunk and --onward, or --off", "enterprise", "enrolment", "initech")
	c.fails(1, "trunk", "enterprise", "enrolment", "initech", "--trunk", "not-an-address", "--onward", "sip:{called}@x.example")
	out = c.ok("enterprise", "enrolment", "initech", "--trunk", "192.0.2.0/24", "--onward", "sip:{called}@carrier.example")
	if !strings.Contains(out, "INVITEs from 192.0.2.0/24, redirected to sip:{called}@carrier.example") {
		t.Errorf("enrolment set:\n%s", out)
	}
	out = c.ok("enterprise", "enrolment", "initech", "--off")
	if !strings.Contains(out, "enrolment:    off") || !strings.Contains(out, "brand:        Initech") {
		t.Errorf("enrolment off (the brand stays):\n%s", out)
	}
}
