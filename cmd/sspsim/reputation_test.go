package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReputationCommand(t *testing.T) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	if code := e.run([]string{"reputation", "--band", "nonsense"}); code != 2 || !strings.Contains(errb.String(), "+NUMBER=") {
		t.Fatalf("bad --band: exit %d, %s", code, errb.String())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb2 bytes.Buffer
	e2 := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb2, ctx: ctx}
	go func() {
		done <- e2.run([]string{"reputation", "--listen", addr, "--key", "k", "--band", "+19005550111=high"})
	}()
	var body []byte
	for body == nil {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/reputation/19005550111", nil)
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !strings.Contains(string(body), `"band":"high"`) {
		t.Errorf("answer %s", body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errb2.String())
	}
}
