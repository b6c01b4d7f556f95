package config

import (
	"strings"
	"testing"

	"callgate/policy"
)

func TestSignalsValidation(t *testing.T) {
	c := Default()
	c.Keys.MaxKeys = 0
	c.Keys.DefaultWindow = 2 * c.Keys.MaxWindow
	c.Reputation.Enabled = true
	c.Reputation.BaseURL = "ftp://x"
	c.Reputation.StaleFor = 0
	c.Reputation.BreakerFailures = 0
	c.Reputation.Reserve = c.SCP.TimeBudget
	c.Reputation.Actions.High = "shrug"
	err := c.Validate()
	if err == nil {
		t.Fatal("no problem found")
	}
	for _, want := range []string{"keys.max_keys", "keys.default_window", "reputation.base_url", "reputation.stale_for",
		"reputation.breaker_failures", "reputation.reserve", `reputation.actions.high: reputation action "shrug"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems %q do not name %s", err, want)
		}
	}
	d := Default()
	p, err := d.Reputation.Actions.Policy()
	if err != nil || p != policy.DefaultReputationPolicy {
		t.Errorf("default actions %+v %v, want the engine's default", p, err)
	}
}
