package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// startAPIDouble serves one of the forge API doubles (githubtest,
// stashtest) on its own loopback port, so the github and stash targets can
// be watched without a real server: the API under its usual paths, and at
// / the last 50 requests as list renders them. At the end it logs, as
// warnings, the requests the real service would have refused (problems).
// It returns the root URL.
func startAPIDouble(d *demo, name string, api http.Handler, list, problems func() []string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("%s API double: %w", name, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		last := list()
		if len(last) > 50 {
			last = last[len(last)-50:]
		}
		fmt.Fprintf(w, "%s API double: the last %d requests\n%s\n", name, len(last), strings.Join(last, "\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("demo: "+name+" API double", "err", err)
		}
	}()
	d.onClose(func(ctx context.Context) error {
		for _, p := range problems() {
			d.log.Warn("demo: the "+name+" API double saw a request the real service refuses", "problem", p)
		}
		return srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), nil
}
