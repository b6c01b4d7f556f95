package fraud

import (
	"errors"
	"fmt"
)

// Band is one step of the multiplier scale: the part of a group's baseline
// up to UpTo (above the previous band's UpTo) is multiplied by Alert and
// Lockdown. The last band has UpTo 0: no upper bound.
type Band struct {
	UpTo     Money      `yaml:"up_to" json:"up_to"`
	Alert    Multiplier `yaml:"alert" json:"alert"`
	Lockdown Multiplier `yaml:"lockdown" json:"lockdown"`
}

// Scale is the sliding scale that turns a group's baseline (its highest
// daily spend of the last 30 days) into its thresholds. It works like tax
// brackets: each band multiplies only the slice of the baseline inside it,
// so a threshold grows with the baseline (never drops as the group grows)
// while the headroom, as a ratio, narrows. See the package documentation
// for worked examples.
type Scale []Band

// DefaultScale is the scale a configuration without one gets.
var DefaultScale = Scale{
	{UpTo: 20 * Unit, Alert: 3000, Lockdown: 4000},
	{UpTo: 100 * Unit, Alert: 2000, Lockdown: 2500},
	{UpTo: 1000 * Unit, Alert: 1500, Lockdown: 1800},
	{UpTo: 0, Alert: 1250, Lockdown: 1400},
}

// Validate checks that the bands rise, the last one is open-ended, every
// multiplier is at least 1 and no band locks down below its alert.
func (s Scale) Validate() error {
	if len(s) == 0 {
		return errors.New("scale: no bands (want at least one, the last with no up_to)")
	}
	var prev Money
	for i, b := range s {
		last := i == len(s)-1
		switch {
		case last && b.UpTo != 0:
			return fmt.Errorf("scale band %d: the last band has no up_to (it covers every baseline above %s)", i+1, prev)
		case !last && b.UpTo <= prev:
			return fmt.Errorf("scale band %d: up_to %s must be above the previous band's %s", i+1, b.UpTo, prev)
		}
		if err := b.Alert.check(); err != nil {
			return fmt.Errorf("scale band %d: alert multiplier %s: %w", i+1, b.Alert, err)
		}
		if err := b.Lockdown.check(); err != nil {
			return fmt.Errorf("scale band %d: lockdown multiplier %s: %w", i+1, b.Lockdown, err)
		}
		if b.Lockdown < b.Alert {
			return fmt.Errorf("scale band %d: lockdown multiplier %s is below the alert multiplier %s (the alert must come first)", i+1, b.Lockdown, b.Alert)
		}
		prev = b.UpTo
	}
	return nil
}

// apply returns the baseline's alert and lockdown thresholds on the scale
// alone (before the defaults' floor).
func (s Scale) apply(baseline Money) (alert, lockdown Money) {
	var lo Money
	for _, b := range s {
		hi := b.UpTo
		if hi == 0 || hi > baseline {
			hi = baseline
		}
		if hi > lo {
			alert += b.Alert.of(hi - lo)
			lockdown += b.Lockdown.of(hi - lo)
		}
		if b.UpTo == 0 || b.UpTo >= baseline {
			break
		}
		lo = b.UpTo
	}
	return alert, lockdown
}

// Thresholds are a group's alert and lockdown amounts for a day.
type Thresholds struct {
	Alert    Money `json:"alert"`
	Lockdown Money `json:"lockdown"`
}

// thresholds is what a group with baseline gets before any lockdown of the
// day: the scale's amounts, never below the defaults (a group with no
// history, or very little, starts at the defaults).
func (c *Config) thresholds(baseline Money) Thresholds {
	a, l := c.Scale.apply(baseline)
	return Thresholds{Alert: max(a, c.DefaultAlert), Lockdown: max(l, c.DefaultLockdown)}
}

// times is t with both amounts multiplied by factor (the doubling after a
// lockdown).
func (t Thresholds) times(factor int64) Thresholds {
	return Thresholds{Alert: t.Alert * Money(factor), Lockdown: t.Lockdown * Money(factor)}
}
