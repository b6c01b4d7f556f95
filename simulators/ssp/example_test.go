package ssp_test

import (
	"context"
	"fmt"
	"time"

	"callgate/e164"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// An end-to-end test of an SCP: dial it as the switch, send a
// Termination_Attempt, check the answering operation and its argument.
// (Here the SCP is the minimal ssptest responder.)
func Example() {
	scp, _ := ssptest.Start(ssptest.Config{Decide: func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		routing, _ := ain.DigitsFromE164(e164.MustParse("+17205550123"), ain.NOANational)
		return ssptest.Reply{Op: ain.OpForwardCall, Arg: &ain.ForwardCallArg{CalledPartyID: ain.Some(routing)}}
	}})
	defer scp.Close()

	ctx := context.Background()
	c, err := ssp.Dial(ctx, ssp.Config{
		Network:         "tcp", // or "sctp"
		Connect:         []string{scp.Addr()},
		RoutingContexts: []uint32{10},
		Timeout:         time.Second,
		Capture:         true, // keep the association's messages for ssp.WritePcap
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ans, err := c.TerminationAttempt(ctx, ssp.TA{
		Calling:      e164.MustParse("+17195551212"),
		Presentation: ssp.PresentationRestricted,
		Called:       e164.MustParse("+13035550100"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ans.PackageName, ans.Operation)
	if fwd, ok := ans.Arg.(*ain.ForwardCallArg); ok {
		n, _ := fwd.CalledPartyID.V.E164()
		fmt.Println("routing number", n)
	}
	data := 0
	for _, m := range c.Capture() {
		if m.IsData() {
			data++
		}
	}
	fmt.Println(data, "DATA messages captured, with the ASP management before them")
	// Output:
	// response forwardCall
	// routing number +17205550123
	// 2 DATA messages captured, with the ASP management before them
}
