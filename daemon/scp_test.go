package daemon

import (
	"strings"
	"testing"
	"time"

	"callgate/internal/config"
	"callgate/scp"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
)

// The scp: section maps onto scp.Config here, and only here.
func TestSCPConfig(t *testing.T) {
	base := func() config.SCP {
		c := config.Default().SCP
		c.Enabled = true
		return c
	}
	s := base()
	c, err := scpConfig(&s, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != m3ua.RoleSG || c.Listen != "127.0.0.1:2905" || c.PointCode != sccp.ANSIPointCode(244, 2, 20) || c.SSN != 248 ||
		c.TrafficMode != m3ua.TrafficModeLoadshare || c.Overload.Capacity != 50000 || len(c.RoutingContexts) != 1 {
		t.Errorf("default section mapped to %+v", c)
	}
	cases := []struct {
		name    string
		mod     func(*config.SCP)
		wantErr string
		check   func(scp.Config) bool
	}{
		{"asp dials", func(s *config.SCP) { s.Role, s.Connect = "asp", []string{"10.0.0.1:2905"} }, "",
			func(c scp.Config) bool {
				return c.Role == m3ua.RoleASP && c.Listen == "" && c.Connect[0] == "10.0.0.1:2905"
			}},
		{"sctp multi-homed", func(s *config.SCP) {
			s.Transport, s.Listen = "sctp", []string{"10.0.0.1:2905", "10.0.1.1:2905"}
		}, "", func(c scp.Config) bool { return c.Listen == "10.0.0.1/10.0.1.1:2905" }},
		{"tcp cannot multi-home", func(s *config.SCP) { s.Listen = []string{"10.0.0.1:2905", "10.0.1.1:2905"} }, "only SCTP", nil},
		{"ports differ", func(s *config.SCP) {
			s.Transport, s.Listen = "sctp", []string{"10.0.0.1:2905", "10.0.1.1:2906"}
		}, "one port", nil},
		{"broadcast refused", func(s *config.SCP) { s.TrafficMode = "broadcast" }, "not supported", nil},
		{"safe forward", func(s *config.SCP) { s.SafeAnswer = "forward" }, "", func(c scp.Config) bool { return c.SafeAnswer == scp.SafeForward }},
		{"inline workers", func(s *config.SCP) { s.Workers = -1 }, "", func(c scp.Config) bool { return c.Inline && c.Workers == 0 }},
		{"gap removal", func(s *config.SCP) {}, "", func(c scp.Config) bool { return c.Overload.RemoveAfter == 2*time.Second }},
		{"gap removal off", func(s *config.SCP) { s.ACG.RemoveAfter = 0 }, "", func(c scp.Config) bool { return c.Overload.RemoveAfter < 0 }},
		{"itu", func(s *config.SCP) { s.Variant, s.PointCode = "itu", "1-2-3" }, "", func(c scp.Config) bool { return c.PointCode == 1<<11|2<<3|3 }},
		{"bad role", func(s *config.SCP) { s.Role = "stp" }, "scp.role", nil},
		{"heartbeat", func(s *config.SCP) { s.HeartbeatInterval, s.HeartbeatTimeout = 30*time.Second, 5*time.Second }, "",
			func(c scp.Config) bool {
				return c.HeartbeatInterval == 30*time.Second && c.HeartbeatTimeout == 5*time.Second
			}},
		{"heartbeat off", func(s *config.SCP) { s.HeartbeatInterval = 0 }, "", func(c scp.Config) bool { return c.HeartbeatInterval < 0 }},
		{"home area", func(s *config.SCP) { s.HomeArea, s.HomeNPA = "fixed", "415" }, "",
			func(c scp.Config) bool { return c.HomeArea == scp.HomeAreaFixed && c.HomeNPA == 415 }},
		{"default home area", func(s *config.SCP) {}, "", func(c scp.Config) bool { return c.HomeArea == scp.HomeAreaLine && c.HomeNPA == 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.mod(&s)
			c, err := scpConfig(&s, quietLogger())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("mapped to %+v", c)
			}
		})
	}
}
