package sip_test

import (
	"context"
	"fmt"
	"time"

	"callgate/simulators/sip"
)

// How an end-to-end test drives a call: the subscriber's phone answers and
// accepts when asked, the caller (an SBC) calls the redirect server, says
// its name when asked, and both report what they heard. (Not run: it needs
// callgate listening on 127.0.0.1:5060 with its continue route pointing at
// the subscriber's phone.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prompts, err := sip.LoadPrompts("testdata/prompts") // the B2BUA's prompt directory
	if err != nil {
		fmt.Println(err)
		return
	}
	cue := func(s string) sip.Cue {
		c, err := sip.ParseCue(s)
		if err != nil {
			panic(err)
		}
		return c
	}

	subscriber, err := sip.Answer(ctx, sip.PhoneConfig{Listen: "127.0.0.1:5070"}, sip.AnswerConfig{
		RingFor:   time.Second,
		Behaviour: sip.Behaviour{Prompts: prompts, Script: sip.Script{Cues: []sip.Cue{cue("press-1=1")}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer subscriber.Close()

	res, err := sip.Call(ctx, sip.CallConfig{
		Target: "sip:+13035550100@127.0.0.1:5060;user=phone",
		From:   "+17195551212",
		Behaviour: sip.Behaviour{Prompts: prompts, Script: sip.Script{Cues: []sip.Cue{
			cue("say-name=wait:300ms say"),
			cue("@tone+1500ms=hangup"), // done once the probe exchange is
		}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := subscriber.Next(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Outcome, len(res.Redirects), res.Heard("say-name"))
	fmt.Println(got.Heard("call-from"), got.DigitsSent)
	fmt.Println("audio both ways:", res.Probe.Heard && got.Probe.Heard)
	fmt.Print(res) // the caller's timeline
}
