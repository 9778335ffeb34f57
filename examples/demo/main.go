// Command demo is a simulated CI master: three builders (linux, windows,
// docs) on two workers run builds every few seconds, with steps whose logs
// grow line by line, random results and changes by random authors. Events go
// through a status.Hub into store.Memory and every configured target; the
// console prints one line per build.
//
//	go run ./examples/demo              # run until interrupted
//	go run ./examples/demo -builds 5    # stop after five builds
//
// Wiring a target in: write examples/demo/<target>.go with a type that has
// Flags(*flag.FlagSet) (register its flags, all off by default unless they
// need nothing outside the process) and Start(ctx, *demo) error (add
// reporters to d.hub, mount handlers on d.mux, call d.where to print where to
// look, d.onClose for cleanup), then add it to the targets list below.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/heraldci/herald/examples/internal/sim"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
	"github.com/heraldci/herald/web"
)

// target is one reporter or server wired into the demo.
type target interface {
	Flags(fs *flag.FlagSet)
	Start(ctx context.Context, d *demo) error
}

// targets lists what the demo can report to, in start order.
func targets() []target {
	return []target{
		&console{},
		&gerritTarget{},
		&githubTarget{}, &stashTarget{},
		&gitlabTarget{}, &giteaTarget{}, &bitbucketTarget{},
		&changeHooks{},
		&webStatus{},
		&ircTarget{}, &matrixTarget{}, &slackTarget{}, &telegramTarget{},
		&mailTarget{},
		&pushTarget{},
		&streamTarget{},
		&metricsTarget{}, &otelTarget{},
	}
}

// demo is what targets get to wire themselves in.
type demo struct {
	hub     *status.Hub
	store   *store.Memory
	control status.Control
	// onChanges takes changes from webhooks into the simulated master.
	onChanges func(ctx context.Context, dialect string, cs []status.Change) error
	mux       *http.ServeMux
	url       string // base URL of the demo's HTTP server, "" when off
	log       *slog.Logger
	out       io.Writer

	mu      sync.Mutex
	closers []func(context.Context) error
	wheres  []string
	root    bool // a target serves "/"
}

// where records a line telling the user where to look.
func (d *demo) where(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wheres = append(d.wheres, fmt.Sprintf(format, args...))
}

// onClose registers cleanup run after the hub has shut down.
func (d *demo) onClose(f func(context.Context) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closers = append(d.closers, f)
}

// handle mounts h on the demo's HTTP server.
func (d *demo) handle(pattern string, h http.Handler) {
	if pattern == "/" {
		d.root = true
	}
	d.mux.Handle(pattern, h)
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// masterName names the demo master in its events and its history file.
const masterName = "demo"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	builds := fs.Int("builds", 0, "stop after this many builds (0: run until interrupted)")
	speed := fs.Float64("speed", 1, "simulation speed factor (2: twice as fast)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed of the simulation")
	addr := fs.String("addr", "127.0.0.1:8010", "HTTP address for pages and webhooks (empty: no HTTP)")
	webURL := fs.String("web-url", "", "where browsers reach the web status, linked from mails, chat and commit statuses (default: the -addr server)")
	verbose := fs.Bool("v", false, "log at debug level")
	historyFile := fs.String("history", "", "keep the build history in this file across restarts (default: in memory only)")
	ts := targets()
	for _, t := range ts {
		t.Flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *speed <= 0 {
		return errors.New("-speed must be positive")
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	mem := store.NewMemory(store.MemoryOptions{})
	if *historyFile != "" {
		var err error
		if mem, err = store.OpenMemory(*historyFile, store.MemoryOptions{Master: masterName}); err != nil {
			return err
		}
	}
	var ln net.Listener
	var url string // of the HTTP server, where the web status is
	if *addr != "" {
		var err error
		if ln, err = net.Listen("tcp", *addr); err != nil {
			return fmt.Errorf("listen on -addr %s: %w (pick another with -addr, or -addr '' for none)", *addr, err)
		}
		url = "http://" + ln.Addr().String()
	}
	// The store is the Hub's history: every event is in it before any
	// reporter sees it. Every build gets its page's URL, which the targets
	// link to.
	hub := status.NewHub(status.HubOptions{History: mem, Logger: log, Master: masterName, WebURL: cmp.Or(*webURL, url)})
	last := map[string]int{} // continue numbering after builds kept in -history
	if builds, err := mem.Builds(ctx, status.BuildQuery{}); err == nil {
		for _, b := range builds {
			last[b.Builder] = max(last[b.Builder], b.Number)
		}
	}
	master := sim.New(hub, sim.Options{Seed: *seed, Speed: *speed, LastNumbers: last})
	d := &demo{hub: hub, store: mem, control: master, onChanges: master.OnChanges, mux: http.NewServeMux(), log: log, out: stdout, url: url}
	d.onClose(mem.Close) // writes the rest of -history after the Hub's last event

	for _, t := range ts {
		if err := t.Start(ctx, d); err != nil {
			return fmt.Errorf("%T: %w", t, err)
		}
	}
	var srv *http.Server
	if ln != nil {
		if !d.root {
			d.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintln(w, "Herald demo: no web status wired in yet. Hub stats:")
				for _, st := range hub.Stats() {
					fmt.Fprintf(w, "%+v\n", st)
				}
			})
		}
		srv = &http.Server{Handler: d.mux}
		web.Timeouts{}.Apply(srv) // header, body, response and idle limits; streams lift their own
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("demo: HTTP server", "err", err)
			}
		}()
		if !d.root {
			d.where("hub stats: %s/", d.url)
		}
	}

	fmt.Fprintf(stdout, "Herald demo master (seed %d, speed %g)\n", *seed, *speed)
	for _, w := range d.wheres {
		fmt.Fprintln(stdout, "  "+w)
	}
	fmt.Fprintln(stdout, "  more targets (see -h): -smtp (mail), -irc, -matrix, -github-api local [-github-checks], -stash-url local, -gitlab-api local, -gitea-url local, -bitbucket-api local, -gerrit-change, -push, -otlp-endpoint")
	// Builds the last run left running (-history) end now, and every
	// reporter added above hears it, before new builds start.
	if n, err := mem.FinishInterrupted(ctx, hub); err != nil {
		log.Error("demo: finishing the builds the last run left running", "err", err)
	} else if n > 0 {
		log.Info("demo: builds the last run left running ended as interrupted", "builds", n)
	}
	master.Run(ctx, *builds, nil)

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if srv != nil {
		_ = srv.Shutdown(sctx)
	}
	err := hub.Shutdown(sctx)
	for _, c := range d.closers {
		err = errors.Join(err, c(sctx))
	}
	var lines []string
	for _, st := range hub.Stats() {
		lines = append(lines, fmt.Sprintf("%s: %d delivered, %d failed, %d dropped", st.Name, st.Delivered, st.Failed, st.Dropped))
	}
	fmt.Fprintln(stdout, "reporters: "+strings.Join(lines, "; "))
	return err
}
