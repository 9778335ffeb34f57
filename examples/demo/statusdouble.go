package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// startStatusDouble serves a stand-in of a commit-status API on its own
// loopback port, so the github and stash targets can be watched without a
// real server: POSTs under prefix are accepted (with code) and kept, the last 50
// are listed at /. It returns the base URL.
func startStatusDouble(d *demo, name, prefix string, code int) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("%s API double: %w", name, err)
	}
	var mu sync.Mutex
	var last []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+prefix, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		mu.Lock()
		last = append(last, time.Now().Format("15:04:05 ")+r.URL.Path+" "+string(body))
		if len(last) > 50 {
			last = last[1:]
		}
		mu.Unlock()
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "{}")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s API double: the last %d statuses\n%s\n", name, len(last), strings.Join(last, "\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("demo: "+name+" API double", "err", err)
		}
	}()
	d.onClose(func(ctx context.Context) error { return srv.Shutdown(ctx) })
	return "http://" + ln.Addr().String(), nil
}
