package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	"callgate/e164"
	"callgate/internal/config"
	"callgate/scp"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
)

// scpSpec is the AIN SCP (package scp), from the scp: section.
var scpSpec = tierSpec{
	name:    "scp",
	section: "scp",
	enabled: func(c *config.Config) bool { return c.SCP.Enabled },
	listeners: func(c *config.Config) []listener {
		if c.SCP.Role == "asp" {
			return nil // dials out only
		}
		var ls []listener
		for i, a := range c.SCP.Listen {
			ls = append(ls, listener{c.SCP.Transport, a, fmt.Sprintf("scp.listen[%d]", i)})
		}
		return ls
	},
	build: func(c *config.Config, d *Deps) (Tier, error) {
		sc, err := scpConfig(&c.SCP, d.Logger)
		if err != nil {
			return nil, err
		}
		// The safe answer "forward" follows the platform's default egress
		// route as the live store has it at each safe answer: operators
		// change routes while serve runs.
		view := d.View
		route := func() e164.Number { r, _ := view.EgressRoute(0); return r.RoutingNumber }
		opts := []scp.Option{scp.WithRegisterer(d.Registerer), scp.WithDecisionLog(d.DecisionLog),
			scp.WithSafeForwardRoute(route)}
		if p, ok := view.(scp.Prefetcher); ok {
			opts = append(opts, scp.WithPrefetch(p))
		}
		svc, err := scp.New(sc, d.Decider, opts...)
		if err != nil {
			return nil, err
		}
		return svc, nil
	},
}

// scpConfig maps the scp: section onto scp.Config: the one place the
// section is translated. scp.New checks the result (its rules live there).
func scpConfig(s *config.SCP, log *slog.Logger) (scp.Config, error) {
	c := scp.Config{
		Network:           s.Transport,
		Connect:           append([]string(nil), s.Connect...),
		SSN:               s.SSN,
		RoutingContexts:   append([]uint32(nil), s.RoutingContexts...),
		Register:          s.Register,
		NetworkAppearance: s.NetworkAppearance,
		TimeBudget:        s.TimeBudget,
		Logger:            log,
		Workers:           max(s.Workers, 0),
		Inline:            s.Workers < 0,
		InlineLimit:       s.InlineLimit,
		Overload: scp.Overload{
			Capacity:    s.ACG.Capacity,
			GapDuration: s.ACG.GapDuration,
			GapInterval: s.ACG.GapInterval,
			RemoveAfter: s.ACG.RemoveAfter,
		},
		HeartbeatInterval: s.HeartbeatInterval,
		HeartbeatTimeout:  s.HeartbeatTimeout,
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = -1 // scp.heartbeat_interval: 0 turns BEAT off
	}
	if c.Overload.RemoveAfter == 0 {
		c.Overload.RemoveAfter = -1 // scp.acg.remove_after: 0 leaves gaps to run out
	}
	var err error
	if c.HomeArea, err = scp.ParseHomeArea(s.HomeArea); err != nil {
		return c, fmt.Errorf("scp.home_area: %w", err)
	}
	if s.HomeNPA != "" {
		if c.HomeNPA, err = ain.ParseNPA(s.HomeNPA); err != nil {
			return c, fmt.Errorf("scp.home_npa: %w", err)
		}
	}
	if c.Variant, err = s.ParsedVariant(); err != nil {
		return c, fmt.Errorf("scp.variant: %w", err)
	}
	if c.PointCode, err = s.ParsedPointCode(); err != nil {
		return c, err
	}
	switch s.Role {
	case "sg":
		c.Role = m3ua.RoleSG
	case "asp":
		c.Role = m3ua.RoleASP
	case "ipsp":
		c.Role = m3ua.RoleIPSP
	default:
		return c, fmt.Errorf("scp.role: %q is not sg, asp or ipsp", s.Role)
	}
	switch s.TrafficMode {
	case "", "loadshare":
		c.TrafficMode = m3ua.TrafficModeLoadshare
	case "override":
		c.TrafficMode = m3ua.TrafficModeOverride
	default:
		// Broadcast sends every message to every ASP: an SCP answering
		// each query once per ASP would answer it several times.
		return c, fmt.Errorf("scp.traffic_mode: %q is not supported by the SCP (use loadshare or override)", s.TrafficMode)
	}
	switch s.SafeAnswer {
	case "", "authorize":
		c.SafeAnswer = scp.SafeAuthorize
	case "forward":
		c.SafeAnswer = scp.SafeForward
	default:
		return c, fmt.Errorf("scp.safe_answer: %q is not authorize or forward", s.SafeAnswer)
	}
	if len(s.Listen) > 0 && c.Role != m3ua.RoleASP {
		if c.Listen, err = joinListen(s.Transport, s.Listen); err != nil {
			return c, err
		}
	}
	if c.Role == m3ua.RoleIPSP && c.Listen != "" {
		c.Connect = nil // an IPSP either accepts or dials; listening wins
	}
	return c, nil
}

// joinListen turns the listen list into one transport address: a single
// host:port, or for SCTP several hosts of one port written "ip1/ip2:port"
// (a multi-homed endpoint).
func joinListen(network string, list []string) (string, error) {
	if len(list) == 1 {
		return list[0], nil
	}
	if network != "sctp" {
		return "", fmt.Errorf("scp.listen: %d addresses: only SCTP binds several (multi-homing); use one with %s", len(list), network)
	}
	var hosts []string
	port := ""
	for i, a := range list {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			return "", fmt.Errorf("scp.listen[%d]: %w", i, err)
		}
		if port != "" && p != port {
			return "", fmt.Errorf("scp.listen[%d]: port %s differs from %s: a multi-homed endpoint has one port", i, p, port)
		}
		port = p
		hosts = append(hosts, h)
	}
	return net.JoinHostPort(strings.Join(hosts, "/"), port), nil
}
