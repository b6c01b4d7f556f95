package sip

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadPromptsTree(t *testing.T) {
	dir := t.TempDir()
	name := GeneratedName()
	for _, f := range []string{"enter-pin.wav", "digits/4.wav", "announcements/7.WAV"} {
		path := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, EncodeWAV(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a prompt"), 0o644)
	p, err := LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Names(); !slices.Equal(got, []string{"announcements/7", "digits/4", "enter-pin"}) {
		t.Errorf("names %q", got)
	}
	if _, err := LoadPrompts(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .wav file") {
		t.Errorf("empty directory: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "silent.wav"), EncodeWAV(Silence(1e9)), 0o644)
	if _, err := LoadPrompts(dir); err == nil || !strings.Contains(err.Error(), "silent.wav") || !strings.Contains(err.Error(), "no sound") {
		t.Errorf("silent prompt: %v", err)
	}
}

func TestDigitOf(t *testing.T) {
	for name, want := range map[string]rune{
		"4": '4', "digit-4": '4', "digit_7": '7', "digit9": '9', "five": '5', "digit-zero": '0', "star": '*', "hash": '#', "pound": '#', "#": '#',
		"digits/4": '4', "Digits/Eight": '8', "announcements/7": 0, "enter-pin": 0, "17": 0, "a/b/4": 0, "": 0,
	} {
		if got := digitOf(name); got != want {
			t.Errorf("%q: %q, want %q", name, got, want)
		}
	}
}
