package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// TestDemoIRC runs the demo with -irc against a minimal IRC server that
// welcomes the bot and records what it says (the irc package itself is
// tested against ngircd).
func TestDemoIRC(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var got []string
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			mu.Lock()
			got = append(got, line)
			mu.Unlock()
			switch {
			case strings.HasPrefix(line, "USER "):
				fmt.Fprintf(c, ":fake 001 herald :Welcome herald!~herald@127.0.0.1\r\n")
			case strings.HasPrefix(line, "JOIN "):
				fmt.Fprintf(c, ":herald!~herald@127.0.0.1 %s\r\n", line)
			case strings.HasPrefix(line, "QUIT"):
				return
			}
		}
	}()
	var out, errs bytes.Buffer
	err = run(context.Background(), []string{"-builds", "2", "-speed", "50", "-seed", "7", "-addr", "",
		"-irc", l.Addr().String(), "-irc-channel", "#demo", "-irc-notify", "started"}, &out, &errs)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	<-served
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(got, "\n")
	for _, want := range []string{"NICK herald", "JOIN #demo", "PRIVMSG #demo :build #1 of ", "QUIT"} {
		if !strings.Contains(all, want) {
			t.Errorf("the bot did not send %q; it sent:\n%s\nstdout:\n%s", want, all, out.String())
		}
	}
	if !strings.Contains(out.String(), "irc: herald on #demo") {
		t.Errorf("stdout lacks where to look:\n%s", out.String())
	}
}
