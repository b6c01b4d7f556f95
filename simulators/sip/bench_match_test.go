package sip

import (
	"testing"
	"time"
)

// BenchmarkListener measures recognition cost per second of audio heard
// with the test prompt set (18 references).
func BenchmarkListener(b *testing.B) {
	prompts := loadTestPrompts(b)
	var pcm []int16
	for _, n := range prompts.Names() {
		p, err := ReadWAVFile(promptPath(b, n))
		if err != nil {
			b.Fatal(err)
		}
		pcm = append(pcm, p...)
		pcm = append(pcm, Silence(200*time.Millisecond)...)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lst := newListener(prompts, []float64{1300}, 300*time.Millisecond, func(heard) {})
		at := time.Now()
		for off := 0; off+160 <= len(pcm); off += 160 {
			lst.push(pcm[off:off+160], 160, false, at)
		}
	}
	b.ReportMetric(float64(len(pcm))/SampleRate, "audio-s/op")
}
