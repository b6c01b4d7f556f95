package sip

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// testPrompts are the prompts the tests speak with espeak-ng, as the
// B2BUA's prompt script does (8 kHz mono 16-bit via sox).
var testPrompts = map[string]string{
	"say-name":    "please say your name after the tone",
	"call-from":   "you have a call from",
	"press-1":     "press 1 to accept, 2 to refuse, 3 for voicemail",
	"enter-pin":   "enter your PIN",
	"pin-wrong":   "that PIN is not right",
	"challenge":   "to continue, enter the following digits",
	"blocked":     "the person you are calling does not accept your calls",
	"unavailable": "the person you called is not available",
	"1":           "one",
	"2":           "two",
	"3":           "three",
	"4":           "four",
	"5":           "five",
	"6":           "six",
	"7":           "seven",
	"8":           "eight",
	"9":           "nine",
	"0":           "zero",
}

var (
	promptsOnce sync.Once
	promptsDir  string
	promptsErr  error
)

// espeakPrompts writes testPrompts to a directory once per test binary
// (espeak-ng and sox are required: the tests fail without them, like the
// other real peers).
func espeakPrompts(t testing.TB) string {
	t.Helper()
	promptsOnce.Do(func() {
		for _, tool := range []string{"espeak-ng", "sox"} {
			if _, err := exec.LookPath(tool); err != nil {
				promptsErr = err
				return
			}
		}
		dir, err := os.MkdirTemp("", "sipsim-prompts-")
		if err != nil {
			promptsErr = err
			return
		}
		for name, text := range testPrompts {
			raw := filepath.Join(dir, name+".raw.wav")
			if out, err := exec.Command("espeak-ng", "-w", raw, text).CombinedOutput(); err != nil {
				promptsErr = &toolError{"espeak-ng", err, out}
				return
			}
			wav := filepath.Join(dir, name+".wav")
			if out, err := exec.Command("sox", raw, "-r", "8000", "-c", "1", "-b", "16", wav).CombinedOutput(); err != nil {
				promptsErr = &toolError{"sox", err, out}
				return
			}
			os.Remove(raw)
		}
		promptsDir = dir
	})
	if promptsErr != nil {
		t.Fatalf("generating prompts needs espeak-ng and sox (Debian: apt-get install espeak-ng sox): %v", promptsErr)
	}
	return promptsDir
}

type toolError struct {
	tool string
	err  error
	out  []byte
}

func (e *toolError) Error() string { return e.tool + ": " + e.err.Error() + ": " + string(e.out) }

func loadTestPrompts(t testing.TB) *Prompts {
	t.Helper()
	p, err := LoadPrompts(espeakPrompts(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func promptPath(t testing.TB, name string) string {
	return filepath.Join(espeakPrompts(t), name+".wav")
}

// uas is the in-process diago UAS the tests call: a stand-in for the
// B2BUA. Its handler decides what each call does; digits it receives (RFC
// 4733 or INFO) are delivered on digits.
type uas struct {
	dg     *diago.Diago
	addr   string
	digits chan rune
	infos  chan string // Content-Type of each DTMF INFO
}

func startUAS(t *testing.T, handler func(u *uas, d *diago.DialogServerSession)) *uas {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-uas"))
	if err != nil {
		t.Fatal(err)
	}
	u := &uas{digits: make(chan rune, 64), infos: make(chan string, 64)}
	u.dg = diago.NewDiago(ua,
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: 0}),
		diago.WithLogger(slog.New(slog.DiscardHandler)),
		diago.WithServerRequestMiddleware(func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return func(req *gosip.Request, tx gosip.ServerTransaction) {
				if req.Method != gosip.INFO {
					next(req, tx)
					return
				}
				ct := ""
				if h := req.ContentType(); h != nil {
					ct = h.Value()
				}
				d, err := ParseDTMFInfo(ct, req.Body())
				if err != nil {
					_ = tx.Respond(gosip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil))
					return
				}
				_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
				u.infos <- ct
				u.digits <- d
			}
		}),
	)
	if err := u.dg.ServeBackground(ctx, func(d *diago.DialogServerSession) { handler(u, d) }); err != nil {
		t.Fatal(err)
	}
	d, err := u.dg.NewDialog(gosip.Uri{Scheme: "sip", Host: "127.0.0.1"}, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.addr = "127.0.0.1:" + strconv.Itoa(d.UA.ContactHDR.Address.Port)
	d.Close()
	t.Cleanup(func() {
		cancel()
		ua.Close()
	})
	// Some tests call out from this UAS at once (see awaitServing).
	if err := awaitServing(ctx, ua, u.addr); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *uas) uri(user string) string { return "sip:" + user + "@" + u.addr }

// play plays prompt files one after the other with gap between them.
func play(t *testing.T, med *diago.DialogMedia, gap time.Duration, paths ...string) error {
	pb, err := med.PlaybackCreate()
	if err != nil {
		return err
	}
	for i, p := range paths {
		if i > 0 {
			time.Sleep(gap)
		}
		if _, err := pb.PlayFile(p); err != nil {
			return err
		}
	}
	return nil
}

// readDTMF reads the call's audio, delivering RFC 4733 digits to u.digits,
// until the media ends.
func (u *uas) readDTMF(med *diago.DialogMedia) {
	r, err := med.AudioReaderDTMF()
	if err != nil {
		return
	}
	_ = r.Listen(func(d rune) error {
		u.digits <- d
		return nil
	}, 0)
}

// collect returns the digits received until n arrived or the timeout.
func (u *uas) collect(n int, timeout time.Duration) string {
	var b strings.Builder
	deadline := time.After(timeout)
	for b.Len() < n {
		select {
		case d := <-u.digits:
			b.WriteRune(d)
		case <-deadline:
			return b.String()
		}
	}
	return b.String()
}

func mustURI(t testing.TB, s string) gosip.Uri {
	t.Helper()
	var u gosip.Uri
	if err := gosip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}
