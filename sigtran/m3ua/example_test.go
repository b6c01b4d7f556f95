package m3ua_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"callgate/sigtran/m3ua"
)

// An SCP plays the ASP: it dials the SG, comes up by itself, receives
// DATA in Handler and answers on the same association.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)

	// A test SG standing in for the switch side.
	answers := make(chan string, 1)
	sg, _ := m3ua.NewEndpoint(m3ua.Config{Role: m3ua.RoleSG, Network: "tcp", Listen: "127.0.0.1:0",
		RoutingContexts: []uint32{10}, Logger: quiet,
		Handler: func(a *m3ua.Association, d *m3ua.Data) { answers <- string(d.ProtocolData.Data) }})
	if err := sg.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer sg.Close()

	scp, _ := m3ua.NewEndpoint(m3ua.Config{
		Role:            m3ua.RoleASP,
		Network:         "tcp", // or "sctp"
		Connect:         []string{sg.Addr()},
		RoutingContexts: []uint32{10},
		Logger:          quiet,
		Handler: func(a *m3ua.Association, d *m3ua.Data) {
			// d aliases the read buffer: decode SCCP/TCAP here or copy.
			rsp := d.ProtocolData.Reply([]byte("answer to " + string(d.ProtocolData.Data)))
			if err := a.SendData(rsp); err != nil {
				fmt.Println(err)
			}
		},
	})
	if err := scp.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer scp.Close()
	if err := sg.WaitActive(ctx, 1); err != nil {
		fmt.Println(err)
		return
	}

	sg.Send(m3ua.ProtocolData{OPC: 0xf4010a, DPC: 0xf40214, SI: m3ua.SISCCP, NI: m3ua.NINational, SLS: 1, Data: []byte("query")})
	fmt.Println(<-answers)
	// Output: answer to query
}
