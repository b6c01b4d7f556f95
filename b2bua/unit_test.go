package b2bua

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/pion/srtp/v3"

	bsip "callgate/internal/baresiptest"
)

func TestParseOffer(t *testing.T) {
	good := offerSDP(40000, "8 0 101", "a=rtpmap:101 telephone-event/8000")
	o, err := parseOffer([]byte(good), srtpNeedsTLS)
	if err != nil || o.port != 40000 || o.addr.String() != "127.0.0.1" || o.direction != "sendrecv" || o.onHold() {
		t.Fatalf("good offer: %+v %v", o, err)
	}
	for _, tc := range []struct {
		name string
		sdp  string
		code int
		hold bool
	}{
		{"dynamic PCMU", offerSDP(40000, "96", "a=rtpmap:96 PCMU/8000"), 0, false},
		{"media-level c= and hold", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\na=inactive\r\n", 0, true},
		{"RFC 2543 hold", strings.Replace(good, "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1), 0, true},
		{"session sendonly", strings.Replace(good, "t=0 0", "t=0 0\r\na=sendonly", 1), 0, true},
		{"LF only", strings.ReplaceAll(good, "\r\n", "\n"), 0, false},
		{"no v=", strings.TrimPrefix(good, "v=0\r\n"), 400, false},
		{"no o=", strings.Replace(good, "o=- 1 1 IN IP4 127.0.0.1\r\n", "", 1), 400, false},
		{"no c=", strings.Replace(good, "c=IN IP4 127.0.0.1\r\n", "", 1), 400, false},
		{"IP6 tag, IP4 address", strings.Replace(good, "c=IN IP4 127.0.0.1", "c=IN IP6 127.0.0.1", 1), 400, false},
		{"multicast", strings.Replace(good, "c=IN IP4 127.0.0.1", "c=IN IP4 239.1.1.1", 1), 488, false},
		{"bad port", offerSDP(70000, "0"), 400, false},
		{"bad payload type", offerSDP(4000, "0 x"), 400, false},
		{"port 0", offerSDP(0, "0"), 488, false},
		{"no audio", strings.Replace(good, "m=audio", "m=video", 1), 488, false},
		{"second audio", good + "m=audio 4002 RTP/AVP 0\r\n", 0, false},
		{"rejected video is fine", good + "m=video 0 RTP/AVP 96\r\n", 0, false},
		{"live video too", good + "m=video 4002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n", 0, false},
		{"SRTP only", strings.Replace(good, "RTP/AVP", "RTP/SAVP", 1), 488, false},
		{"disabled, then G.729", offerSDP(0, "0") + "m=audio 4002 RTP/AVP 18\r\n", 488, false},
		{"c= of a video stream is not the audio's", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 4002 RTP/AVP 96\r\nc=IN IP4 10.0.0.2\r\nm=audio 4000 RTP/AVP 0\r\n", 400, false},
		{"too many streams", good + strings.Repeat("m=video 0 RTP/AVP 96\r\n", maxStreams), 488, false},
		{"G.729 only", offerSDP(4000, "18"), 488, false},
		{"o= version not a number", strings.Replace(good, "o=- 1 1 IN", "o=- 1 A IN", 1), 400, false},
		{"DTLS", strings.Replace(good, "RTP/AVP", "UDP/TLS/RTP/SAVP", 1), 488, false},
		{"empty", "", 488, false},
		{"huge", strings.Repeat("a=x\r\n", 5000), 400, false},
	} {
		o, err := parseOffer([]byte(tc.sdp), srtpNeedsTLS)
		code := 0
		if err != nil {
			code = err.code
			if err.reason == "" {
				t.Errorf("%s: no reason phrase", tc.name)
			}
		}
		if code != tc.code {
			t.Errorf("%s: code %d (%v), want %d", tc.name, code, err, tc.code)
		}
		if code == 0 && o.onHold() != tc.hold {
			t.Errorf("%s: hold %v", tc.name, o.onHold())
		}
	}
}

// sdesTestKey is an SDES inline key: 30 bytes (key and salt), base64.
const sdesTestKey = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"

// TestOfferSRTP: RTP/SAVP is taken only over TLS and with a usable key of
// AES_CM_128_HMAC_SHA1_80; diago sees that one key, without its lifetime;
// a plain stream's keys are taken away, so diago answers in its profile.
func TestOfferSRTP(t *testing.T) {
	savp := func(attrs ...string) string {
		return strings.Replace(offerSDP(4000, "0 101", append([]string{"a=rtpmap:101 telephone-event/8000"}, attrs...)...), "RTP/AVP", "RTP/SAVP", 1)
	}
	key := "a=crypto:1 " + srtpSuite + " inline:" + sdesTestKey
	for _, tc := range []struct {
		name   string
		sdp    string
		use    srtpUse
		code   int
		reason string
		crypto string // the one crypto line diago sees ("" none)
		srtp   bool
	}{
		{"SAVP over UDP", savp(key), srtpNeedsTLS, 488, "SRTP Requires SIP over TLS", "", false},
		{"SAVP over TLS", savp(key), srtpOn, 0, "", key, true},
		{"lifetime dropped", savp(key + "|2^31"), srtpOn, 0, "", key, true},
		{"other suites skipped", savp("a=crypto:3 AES_256_CM_HMAC_SHA1_80 inline:xx", "a=crypto:4 "+srtpSuite+" inline:"+sdesTestKey), srtpOn, 0, "", "a=crypto:4 " + srtpSuite + " inline:" + sdesTestKey, true},
		{"MKI", savp(key + "|2^20|1:4"), srtpOn, 488, "No Usable SRTP Key (" + srtpSuite + " Required)", "", false},
		{"short key", savp("a=crypto:1 " + srtpSuite + " inline:QUJD"), srtpOn, 488, "No Usable SRTP Key (" + srtpSuite + " Required)", "", false},
		{"session parameter", savp(key + " UNENCRYPTED_SRTCP"), srtpOn, 488, "No Usable SRTP Key (" + srtpSuite + " Required)", "", false},
		{"only the 32-bit tag", savp("a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" + sdesTestKey), srtpOn, 488, "No Usable SRTP Key (" + srtpSuite + " Required)", "", false},
		{"no key", savp(), srtpOn, 488, "No Usable SRTP Key (" + srtpSuite + " Required)", "", false},
		{"keys on a plain stream", offerSDP(4000, "0", key), srtpOn, 0, "", "", false},
		{"best effort over UDP takes RTP", savp(key) + "m=audio 4002 RTP/AVP 0\r\n", srtpNeedsTLS, 0, "", "", false},
		{"best effort over TLS takes SRTP", savp(key) + "m=audio 4002 RTP/AVP 0\r\n", srtpOn, 0, "", key, true},
		{"SAVP over TLS, SRTP off", savp(key), srtpOff, 488, "SRTP Not Enabled", "", false},
		{"best effort over TLS, SRTP off", savp(key) + "m=audio 4002 RTP/AVP 0\r\n", srtpOff, 0, "", "", false},
		{"SAVPF", strings.Replace(savp(key), "RTP/SAVP", "RTP/SAVPF", 1), srtpOn, 488, "Media Protocol Not Supported", "", false},
	} {
		o, err := parseOffer([]byte(tc.sdp), tc.use)
		if tc.code != 0 {
			if err == nil || err.code != tc.code || err.reason != tc.reason {
				t.Errorf("%s: %v, want %d %s", tc.name, err, tc.code, tc.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		red := string(o.reduce([]byte(tc.sdp)))
		var lines []string
		for _, l := range strings.Split(red, "\r\n") {
			if strings.HasPrefix(l, "a=crypto:") {
				lines = append(lines, l)
			}
		}
		want := []string(nil)
		if tc.crypto != "" {
			want = []string{tc.crypto}
		}
		if o.srtp != tc.srtp || strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Errorf("%s: SRTP %v, diago sees crypto %q; want %v, %q\n%s", tc.name, o.srtp, lines, tc.srtp, want, red)
		}
	}
}

// An offer with more streams than the audio one the B2BUA takes: diago
// sees the session part and that stream; the answer has every m= line of
// the offer, in order, the others rejected with port 0.
func TestOfferStreams(t *testing.T) {
	session := "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
	video := "m=video 5000 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\n"
	srtp := "m=audio 6000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
	audio := "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
	body := []byte(session + video + srtp + audio + "m=text 0 RTP/AVP 98")
	o, err := parseOffer(body, srtpNeedsTLS)
	if err != nil {
		t.Fatal(err)
	}
	if o.audio != 2 || o.port != 4000 || o.direction != "sendonly" || len(o.streams) != 4 {
		t.Fatalf("offer %+v", o)
	}
	if got := string(o.reduce(body)); got != session+audio {
		t.Errorf("reduced:\n%s", got)
	}
	answer := "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=Sip Go Media\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n"
	want := "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=Sip Go Media\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=video 0 RTP/AVP 96\r\nm=audio 0 RTP/SAVP 0\r\n" +
		"m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n" +
		"m=text 0 RTP/AVP 98\r\n"
	if got := string(o.expandAnswer([]byte(answer))); got != want {
		t.Errorf("answer:\n%s\nwant:\n%s", got, want)
	}
	// One stream: nothing to do.
	one := []byte(session + audio)
	o, _ = parseOffer(one, srtpNeedsTLS)
	if r := o.reduce(one); &r[0] != &one[0] || string(o.expandAnswer([]byte(answer))) != answer {
		t.Error("a one-stream offer was rewritten")
	}
}

// FuzzParseOffer: any body gets an offer or a 400/488 with a reason; what
// is accepted is safe for diago's SDP reader (which indexes fields
// without checking them).
func FuzzParseOffer(f *testing.F) {
	f.Add([]byte(offerSDP(40000, "0 8 101", "a=rtpmap:101 telephone-event/8000", "a=sendonly")), false)
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4\r\nm=audio 1 RTP/AVP 0\r\n"), false)
	f.Add([]byte("v=0\no=a b c d e f\nm=audio 5/2 RTP/AVP 0\nc=IN IP6 ::1\n"), false)
	f.Add([]byte(strings.Replace(offerSDP(4000, "0", "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"+sdesTestKey, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+sdesTestKey+"|2^31"), "RTP/AVP", "RTP/SAVP", 1)), true)
	f.Add([]byte(offerSDP(4000, "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+sdesTestKey)), true)
	f.Fuzz(func(t *testing.T, b []byte, secure bool) {
		use := srtpNeedsTLS
		if secure {
			use = srtpOn
		}
		o, err := parseOffer(b, use)
		if err != nil {
			if (err.code != 400 && err.code != 488) || err.reason == "" {
				t.Fatalf("refusal %d %q", err.code, err.reason)
			}
			return
		}
		if !o.g711 || o.port <= 0 || !o.addr.IsValid() {
			t.Fatalf("accepted offer %+v", o)
		}
		// What parseOffer accepts, reduced to its audio stream, diago's
		// reader must take without panicking (an error is fine).
		ms := &media.MediaSession{Codecs: []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}, Mode: "sendrecv"}
		if secure {
			// What Init sets for SDES, without opening sockets.
			ms.SecureRTP, ms.SRTPAlg = 1, uint16(srtp.ProtectionProfileAes128CmHmacSha1_80)
		}
		reduced := o.reduce(b)
		if err := ms.RemoteSDP(reduced, false); err != nil && o.srtp {
			t.Fatalf("diago refuses the SRTP offer taken: %v\n%s", err, reduced)
		}
		r, err := parseOffer(reduced, use)
		if err != nil || len(r.streams) != 1 || r.port != o.port || r.addr != o.addr || r.direction != o.direction || r.srtp != o.srtp || len(r.edits) != 0 && !r.srtp {
			t.Fatalf("the reduced offer reads as %+v %v, not %+v", r, err, o)
		}
		if n := bytes.Count(reduced, []byte("a=crypto:")); o.srtp && n != 1 || !o.srtp && n != 0 {
			t.Fatalf("%d crypto lines left for diago (SRTP %v):\n%s", n, o.srtp, reduced)
		}
		// The answer has the offer's m= lines, in order.
		ans := o.expandAnswer([]byte("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n"))
		if n := bytes.Count(ans, []byte("\nm=")); n != len(o.streams) {
			t.Fatalf("answer with %d m= lines to an offer with %d:\n%s", n, len(o.streams), ans)
		}
	})
}

func TestParseDTMFInfo(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     rune
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"application/dtmf-relay", "Signal= #\r\nDuration=100", '#', true},
		{"Application/DTMF-Relay; charset=x", "signal=11\nduration=160", '#', true},
		{"application/dtmf-relay", "Signal=10", '*', true},
		{"application/dtmf-relay", "Signal=b", 'B', true},
		{"application/dtmf", "7", '7', true},
		{"application/dtmf", " * \r\n", '*', true},
		{"application/dtmf-relay", "Duration=160", 0, false},
		{"application/dtmf-relay", "Signal=55", 0, false},
		{"application/dtmf", "12345", 0, false},
		{"text/plain", "Signal=5", 0, false},
	} {
		got, err := parseDTMFInfo(tc.ct, []byte(tc.body))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s %q: %q %v", tc.ct, tc.body, got, err)
		}
	}
}

func FuzzParseDTMFInfo(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, err := parseDTMFInfo(ct, body)
		if err == nil && !strings.ContainsRune("0123456789*#ABCD", d) {
			t.Fatalf("digit %q", d)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	base := Config{UDP: "127.0.0.1:5070", ContinueRoute: "sip:{called}@gw.example"}
	if c := base.Defaults(); c.Validate() != nil {
		t.Fatalf("valid config refused: %v", c.Validate())
	}
	for name, mod := range map[string]func(*Config){
		"no listener":       func(c *Config) { c.UDP = "" },
		"host name":         func(c *Config) { c.UDP = "localhost:5070" },
		"unspecified":       func(c *Config) { c.UDP = "0.0.0.0:5070" },
		"bad advertise":     func(c *Config) { c.Advertise = "example.com" },
		"odd RTP port":      func(c *Config) { c.RTPPortMin, c.RTPPortMax = 20001, 20100 },
		"tiny RTP range":    func(c *Config) { c.RTPPortMin, c.RTPPortMax = 20000, 20001 },
		"no continue route": func(c *Config) { c.ContinueRoute = "" },
		"bad route":         func(c *Config) { c.ContinueRoute = "sip:{callee}@x" },
		"bad vm route":      func(c *Config) { c.VoicemailRoute = "http://x" },
		"not for us 500":    func(c *Config) { c.NotForUs = 500 },
		"reject mode":       func(c *Config) { c.RejectMode = "loud" },
		"announcement 0":    func(c *Config) { c.Announcements = map[uint32]string{0: "x.wav"} },
		"PIN digits":        func(c *Config) { c.PINMaxDigits = 40 },
		"name silence":      func(c *Config) { c.NameSilence = time.Minute },
		"RTP timeout":       func(c *Config) { c.RTPTimeout = 10 * time.Millisecond },
		"retry after":       func(c *Config) { c.RetryAfter = time.Millisecond },
		"PIN lock failures": func(c *Config) { c.PINLockFailures = -1 },
		"PIN lock window":   func(c *Config) { c.PINLockWindow = time.Millisecond },
		"PIN lock period":   func(c *Config) { c.PINLockPeriod = 30 * 24 * time.Hour },
		// Defect: an IVR call by user alone was logged with no called
		// number, and the API's decision search failed on the record.
		"IVR user without number": func(c *Config) { c.IVRUser = "ivr" },
	} {
		c := base
		mod(&c)
		c = c.Defaults()
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "b2bua: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	c := base
	c.UDP, c.Advertise = "0.0.0.0:5070", "192.0.2.10"
	if c = c.Defaults(); c.Validate() != nil {
		t.Errorf("0.0.0.0 with Advertise: %v", c.Validate())
	}
}

// The committed default prompts are exactly the list, each 8 kHz mono
// 16-bit PCM, and the built-in set loads.
func TestPromptSetMatchesList(t *testing.T) {
	names := PromptNames()
	if len(names) < 20 {
		t.Fatalf("%d prompts in prompts.txt", len(names))
	}
	files, err := filepath.Glob("prompts/en/*.wav")
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, f := range files {
		have = append(have, strings.TrimSuffix(filepath.Base(f), ".wav"))
	}
	if strings.Join(have, " ") != strings.Join(names, " ") {
		t.Errorf("committed prompts %v\nlisted %v", have, names)
	}
	ps, err := loadPrompts("", map[uint32]string{101: "announcement_101.wav"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if len(ps.p[n]) < 8000 && !strings.HasPrefix(n, "digit_") || len(ps.p[n])%frameBytes != 0 {
			t.Errorf("prompt %s: %d bytes", n, len(ps.p[n]))
		}
	}
}

// scripts/prompts.sh makes the listed set (espeak-ng and sox must be
// installed: scripts/test-deps.sh).
func TestPromptScript(t *testing.T) {
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing (scripts/test-deps.sh installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	list, err := os.ReadFile("prompts/en/prompts.txt")
	if err != nil {
		t.Fatal(err)
	}
	// Two prompts are enough to check the script's output format.
	var short []string
	for _, l := range strings.Split(string(list), "\n") {
		if strings.HasPrefix(l, "digit_1\t") || strings.HasPrefix(l, "name_record\t") {
			short = append(short, l)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "prompts.txt"), []byte(strings.Join(short, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("../scripts/prompts.sh", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("prompts.sh: %v\n%s", err, out)
	}
	for _, n := range []string{"digit_1", "name_record"} {
		pcm, err := readWAV(os.DirFS(dir), n+".wav")
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if len(pcm) < 1600 {
			t.Errorf("%s: %d bytes", n, len(pcm))
		}
	}
}

// A missing or unreadable prompt or announcement is a start-up error that
// names the file.
func TestPromptErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	writeTestPrompts(t, dir)
	if err := os.Remove(filepath.Join(dir, "screen_menu.wav")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pin_wrong.wav"), []byte("RIFF junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{UDP: "127.0.0.1:0", ContinueRoute: "sip:{called}@gw.example", PromptDir: dir,
		Announcements: map[uint32]string{102: "missing_102.wav"}}
	_, err := New(cfg)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{filepath.Join(dir, "screen_menu.wav"), filepath.Join(dir, "pin_wrong.wav"), filepath.Join(dir, "missing_102.wav")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	// 16 kHz is refused with the fix.
	var b bytes.Buffer
	w := bsip.WAV(tonePCM(440, 100*time.Millisecond, 0))
	w[24], w[25] = 0x80, 0x3e // 16000 Hz
	b.Write(w)
	if err := os.WriteFile(filepath.Join(dir, "screen_menu.wav"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readWAV(os.DirFS(dir), "screen_menu.wav"); err == nil || !strings.Contains(err.Error(), "sox") {
		t.Errorf("16 kHz prompt: %v", err)
	}
}

// The name recorder keeps speech, ends on silence after speech or at the
// maximum, and keeps nothing when nobody spoke.
func TestNameRecorder(t *testing.T) {
	enc := func(pcm []byte) [][]byte {
		var frames [][]byte
		for i := 0; i+320 <= len(pcm); i += 320 {
			f := make([]byte, 160)
			_, _ = audio.EncodeUlawTo(f, pcm[i:i+320])
			frames = append(frames, f)
		}
		return frames
	}
	silence := make([]byte, 320*50) // 1 s
	speech := tonePCM(300, 600*time.Millisecond, 0)

	r := newNameRecorder("PCMU", 5*time.Second, 300*time.Millisecond)
	for _, f := range enc(append(append(append([]byte{}, silence[:320*10]...), speech...), silence...)) {
		r.write(f)
	}
	select {
	case <-r.done:
	default:
		t.Fatal("recording did not end on silence after speech")
	}
	name := r.stop()
	if d := time.Duration(len(name)/2) * time.Second / 8000; d < 700*time.Millisecond || d > time.Second {
		t.Errorf("name of %s, want the 0.2 s before and 0.6 s of speech plus 0.2 s", d)
	}

	r = newNameRecorder("PCMU", time.Second, 300*time.Millisecond)
	for _, f := range enc(silence) {
		r.write(f)
	}
	select {
	case <-r.done:
	default:
		t.Fatal("recording did not end at the maximum")
	}
	if name := r.stop(); name != nil {
		t.Errorf("silence kept as a name: %d bytes", len(name))
	}
}

// A Start that fails (its SIP port is taken) leaves a tier the daemon can
// Stop: Stop after a failed Start returns without a panic (it closed a
// channel Start never made).
func TestStopAfterFailedStart(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	writeTestPrompts(t, dir)
	s, err := New(Config{UDP: taken.LocalAddr().String(), ContinueRoute: "sip:{called}@gw.example", PromptDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("started on a taken port")
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after a failed Start: %v", err)
	}
}

// A prompt_dir that is not there is one problem naming it and the fix,
// not one line per prompt and announcement it would have held (fifty).
func TestPromptDirMissingIsOneProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/nonexistent/prompts", file} {
		_, err := loadPrompts(dir, map[uint32]string{101: "announcement_101.wav"})
		if err == nil {
			t.Fatalf("%s: loaded", dir)
		}
		msg := err.Error()
		if !strings.Contains(msg, "prompt directory "+dir+": ") || strings.Contains(msg, ".wav:") || strings.Count(msg, dir) != 1 ||
			!strings.Contains(msg, "built-in") {
			t.Errorf("%s: %q, want one problem naming the directory and the built-in set", dir, msg)
		}
	}
}
