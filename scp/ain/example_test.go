package ain_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"callgate/e164"
	"callgate/scp/ain"
)

// The SCP's hot path: decode a Termination_Attempt into the numbers the
// decision engine needs, then encode one of the answers into a reused buffer.
func Example() {
	params, _ := hex.DecodeString("bf3507810503535510008d01008f0703100353551000920703131759552121")

	var ta ain.TerminationAttemptArg // reuse one per worker: decoding does not allocate
	if err := ta.Unmarshal(params); err != nil {
		if errors.Is(err, ain.ErrIncorrectParameter) {
			fmt.Println("reject 2/3:", err)
		}
		return
	}
	calling, presentation, _ := ta.Calling()
	called, _ := ta.Called()
	fmt.Println(calling, presentation, called)

	buf := make([]byte, 0, 64)

	// Allow: authorizeTermination (empty, or with a name for the display).
	allow := ain.AuthorizeTerminationArg{}
	fmt.Printf("authorizeTermination [%x]\n", allow.Marshal(buf[:0]))

	// Block: disconnect with an empty parameter set.
	block := ain.DisconnectArg{}
	fmt.Printf("disconnect [%x]\n", block.Marshal(buf[:0]))

	// Screen: forwardCall to the SIP tier's routing number, telling it which
	// subscriber the call was for.
	routing, _ := ain.DigitsFromE164(e164.MustParse("+17205550123"), ain.NOANational)
	subscriber, _ := ain.DigitsFromE164(called, ain.NOANational)
	fwd := ain.ForwardCallArg{CalledPartyID: ain.Some(routing), RedirectingPartyID: ain.Some(subscriber)}
	fmt.Printf("forwardCall %x\n", fwd.Marshal(buf[:0]))

	// Block with announcement: sendToResource, then disconnect.
	str, _ := ain.AnnouncementBlock([]byte{0x00, 0x15, 0x00})
	ann := ain.SendToResourceArg{ResourceType: ain.ResourcePlayAnnouncement, StrParameterBlock: str, DisconnectFlag: true}
	fmt.Printf("sendToResource %x\n", ann.Marshal(buf[:0]))

	fmt.Print(ain.Describe(ain.OpForwardCall, fwd.Marshal(buf[:0])))
	// Output:
	// +17195551212 allowed +13035550100
	// authorizeTermination []
	// disconnect []
	// forwardCall 8f07031027505510329f2b0703100353551000
	// sendToResource 9f2d0100bf3209a007a10504030015009900
	// forwardCall (0x6a01)
	//   calledPartyID: +17205550123 (noa national, np isdn)
	//   redirectingPartyID: +13035550100 (noa national, np isdn)
}
