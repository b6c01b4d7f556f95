package ain

import (
	"bytes"
	"reflect"
	"sync"
	"testing"
)

// FuzzDecode feeds arbitrary op codes and Parameter Set contents to the
// decoders and Describe. Nothing may panic, and whatever decodes must
// re-encode to a form that decodes again and is stable from then on. Each
// input is also decoded into one value per operation that every earlier
// input was decoded into, as the SCP reuses its arguments: it must end up
// as a fresh value would, error or not.
func FuzzDecode(f *testing.F) {
	var (
		mu     sync.Mutex
		reused = map[OpCode]Arg{}
	)
	for _, v := range loadVectors(f) {
		f.Add(uint16(v.op), v.params)
	}
	seeds := []struct {
		op     OpCode
		params string
	}{
		{OpTerminationAttempt, p01q + "9f810d01ff9f811001aa9f8f7f0100c10100"},
		{OpTerminationAttempt, "bf3503850101" + "8d0100" + "8f020310" + "9306811350552103"},
		{OpInfoAnalyzed, "bf350781050353551000" + "8d0100" + "970402101234" + "9f2301020656"},
		{OpInfoCollected, "bf3504860200ff" + "8d0104"},
		{OpSendToResource, "9f2d0101bf320ea10c8001049f01a1030401aa"},
		{OpSendToResource, "9f2d0100bf3203820199" + "9900"},
		{OpAuthorizeTermination, "8a052143658709920703171759552121ba098d044a414e459e0168"},
		{OpForwardCall, "8f0703102750551032" + "ab0703102750551032" + "9f2c020401"},
		{OpAnalyzeRoute, "8a0521436587099f71022001"},
		{OpACG, "9f3b01409f3e010d9f4001109f460200ff9f450103bf5403060100"},
		{OpResourceClear, "9501c89704021012349f200113"},
		{OpClose, "bf3506a20404020000" + "9f480103"},
		{OpCallInfoFromResource, "9f4e0131"},
		{OpContinue, "3003890100" + "8a052143658709"},
		{OpDisconnect, "0400" + "3003880100"},
	}
	for _, s := range seeds {
		f.Add(uint16(s.op), unhex(f, s.params))
	}
	f.Add(uint16(ErrCodeApplicationError), unhex(f, "bf370f9f3801003f3909020264050403920100"))

	f.Fuzz(func(t *testing.T, op uint16, params []byte) {
		_ = Describe(OpCode(op), params)
		if op < 256 {
			if p, err := DecodeError(ErrorCode(op), params); err == nil {
				_ = DescribeError(ErrorCode(op), params)
				checkStable(t, p.Marshal(nil), func(b []byte) ([]byte, error) {
					q, err := DecodeError(ErrorCode(op), b)
					if err != nil {
						return nil, err
					}
					return q.Marshal(nil), nil
				})
			}
		}
		a, err := Decode(OpCode(op), params)
		if r := NewArg(OpCode(op)); r != nil {
			mu.Lock()
			if old, ok := reused[OpCode(op)]; ok {
				r = old
			}
			reused[OpCode(op)] = r
			errR := r.UnmarshalAt(params, 0)
			same := (errR == nil) == (err == nil) && (err == nil || errR.Error() == err.Error()) && reflect.DeepEqual(r, a)
			mu.Unlock()
			if !same {
				t.Fatalf("decoded into a used value: %+v, %v; into a fresh one: %+v, %v", r, errR, a, err)
			}
		}
		if err != nil {
			return
		}
		checkStable(t, a.Marshal(nil), func(b []byte) ([]byte, error) {
			c, err := Decode(OpCode(op), b)
			if err != nil {
				return nil, err
			}
			return c.Marshal(nil), nil
		})
	})
}

func checkStable(t *testing.T, first []byte, again func([]byte) ([]byte, error)) {
	t.Helper()
	second, err := again(first)
	if err != nil {
		t.Fatalf("re-encoding %x does not decode: %v", first, err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("encoding not stable:\n first %x\nsecond %x", first, second)
	}
}
