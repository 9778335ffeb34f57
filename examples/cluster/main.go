// Command cluster runs Herald across machines on NATS JetStream: masters
// publish their events to a stream, and a web front end subscribes durably
// and feeds its own Hub and history, showing the builders of every master.
//
// Each role runs as its own process, as on separate machines:
//
//	cluster nats   -store DIR -addr 127.0.0.1:4222       # an embedded nats-server with JetStream
//	cluster front  -nats nats://127.0.0.1:4222 -history front.db -addr 127.0.0.1:8011
//	cluster master -nats nats://127.0.0.1:4222 -name master-a -history a.db
//	cluster master -nats nats://127.0.0.1:4222 -name master-b -history b.db
//
// A standalone server does as well as the nats role: nats-server -js -sd DIR.
// Kill a master or the front end and start it again: the front end resumes
// from its durable consumer and its history file, and loses nothing a
// master published. Builds that were running on the masters stay running
// on the front end across its restart (its history is given no master
// name, so none of them is its to end). A master keeps a history file of
// its own, and publishes to the stream only what that file holds; started
// again after a kill -9, it goes on numbering past its last build, and its
// FinishInterrupted ends the builds the kill left running, on the front
// end as everywhere else. (A master killed still loses the events its Hub
// had not yet published: it has no outbox yet; the end of a build that was
// in its file but not yet on the stream is lost so.)
//
// With no role, all of it runs in one process and stops after -builds
// builds of each master:
//
//	go run ./examples/cluster -builds 4
//
// -partitions N (the same on every master and front end) splits the bus
// into N streams, for more events a second than one stream takes (see
// package bus).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldci/herald/bus"
	"github.com/heraldci/herald/examples/internal/sim"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
	"github.com/heraldci/herald/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// run runs the role args[0] names (nats, master, front), or with none, all
// of them in one process, until ctx ends (or the masters' builds are done).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	role := "all"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		role, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("cluster "+role, flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats", "", "NATS server URL (all in one: default an embedded server)")
	dir := fs.String("store", "", "JetStream store directory of the embedded server (default: a temporary one)")
	addr := fs.String("addr", "", "nats: client address (default 127.0.0.1:4222); front, all: web status address (default 127.0.0.1:8011; 'none': no web)")
	name := fs.String("name", "master-a", "master: the master's name")
	builds := fs.Int("builds", 0, "master, all: stop each master after this many builds (0: until interrupted)")
	speed := fs.Float64("speed", 1, "master, all: simulation speed factor")
	history := fs.String("history", "", "front, master: the history file (store.OpenMemory; required)")
	durable := fs.String("durable", "front-end", "front: the durable consumer's name (one per front end)")
	partitions := fs.Int("partitions", 1, "master, front, all: streams the bus is split into (the same number everywhere; see package bus)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch role {
	case "nats":
		srv, err := startNATS(*dir, or(*addr, "127.0.0.1:4222"))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "nats: listening on %s\n", srv.ClientURL())
		<-ctx.Done()
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil
	case "master":
		if *natsURL == "" || *history == "" {
			return errors.New("master: -nats URL and -history FILE are required")
		}
		return runMaster(ctx, natsBus{*natsURL, *partitions}, *name, *history, *builds, *speed, nil, stdout, log)
	case "front":
		if *natsURL == "" || *history == "" {
			return errors.New("front: -nats URL and -history FILE are required")
		}
		mem, err := store.OpenMemory(*history, store.MemoryOptions{PersistDelay: 100 * time.Millisecond, Logger: log})
		if err != nil {
			return err
		}
		f, err := startFront(ctx, natsBus{*natsURL, *partitions}, *durable, or(*addr, "127.0.0.1:8011"), mem, stdout, log)
		if err != nil {
			_ = mem.Close(context.Background())
			return err
		}
		fmt.Fprintln(stdout, "front: ready")
		<-ctx.Done()
		return f.close()
	case "all":
		return runAll(ctx, natsBus{*natsURL, *partitions}, *dir, or(*addr, "127.0.0.1:8011"), *builds, *speed, stdout, log)
	}
	return fmt.Errorf("unknown role %q: use nats, master, front, or none for all in one process", role)
}

// natsBus is where the bus is: the server's URL and the number of streams
// it is split into.
type natsBus struct {
	url        string
	partitions int
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// startNATS runs an embedded nats-server with JetStream on addr, storing
// in dir (a temporary directory when empty).
func startNATS(dir, addr string) (*server.Server, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("nats: -addr %q: %w", addr, err)
	}
	var port int
	if _, err := fmt.Sscan(portText, &port); err != nil {
		return nil, fmt.Errorf("nats: -addr %q: port: %w", addr, err)
	}
	if port == 0 {
		port = -1 // any free port
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "herald-cluster-"); err != nil {
			return nil, err
		}
	}
	srv, err := server.NewServer(&server.Options{Host: host, Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		return nil, errors.New("embedded nats-server did not start")
	}
	return srv, nil
}

// connect dials url for ever (reconnecting across server restarts, without
// buffering publishes meanwhile, which bus.Publisher requires).
func connect(url, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectBufSize(-1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: connect to %s: %w", name, url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// runMaster runs one simulated master publishing to the stream until its
// builds are done or ctx ends, with its history in the file at history (in
// memory when ""). It prints a line for every build whose start or end
// JetStream has acknowledged ("master-a: published a-linux #3 success").
func runMaster(ctx context.Context, nb natsBus, name, history string, builds int, speed float64, seed *uint64, stdout io.Writer, log *slog.Logger) error {
	opts := store.MemoryOptions{Master: name, PersistDelay: 100 * time.Millisecond, Logger: log}
	mem := store.NewMemory(opts)
	if history != "" {
		var err error
		if mem, err = store.OpenMemory(history, opts); err != nil {
			return err
		}
	}
	defer mem.Close(context.Background()) // after the Hub's Shutdown below
	nc, js, err := connect(nb.url, name)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := bus.EnsureStream(ctx, js, bus.StreamOptions{Partitions: nb.partitions}); err != nil {
		return err
	}
	pub, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js, Partitions: nb.partitions})
	if err != nil {
		return err
	}
	hub := status.NewHub(status.HubOptions{Logger: log, Master: name, History: mem})
	if err := hub.Add(&announcer{Publisher: pub, history: mem, name: name, out: stdout}); err != nil {
		return err
	}
	// The builds a kill left running end now, on the front ends too.
	n, err := mem.FinishInterrupted(ctx, hub)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(stdout, "%s: builds its last process left running, ended as interrupted: %d\n", name, n)
	}

	short := name[len(name)-1:]
	builders := []string{short + "-linux", short + "-docs"}
	last := map[string]int{} // numbering goes on past the builds in the history
	h := fnv.New64a()
	h.Write([]byte(name))
	s := h.Sum64() // another run of builds after a restart
	for _, b := range builders {
		if newest, err := mem.Build(ctx, b, -1); err == nil {
			last[b] = newest.Number
			s += uint64(newest.Number)
		}
	}
	if seed != nil {
		s = *seed
	}
	sim.New(hub, sim.Options{Seed: s, Speed: speed, Builders: builders, LastNumbers: last}).Run(ctx, builds, nil)
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hub.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := mem.Close(sctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(stdout, "%s: done\n", name)
	return nil
}

// announcer is the master's bus.Publisher, printing the builds whose start
// or end the stream has acknowledged. It publishes a batch once the
// master's history file holds it, so the stream never shows a build the
// master would not know of after a kill: every build a front end sees
// running is one the master's next process ends, should a kill stop it.
type announcer struct {
	*bus.Publisher
	history *store.Memory
	name    string
	mu      sync.Mutex
	out     io.Writer
}

func (a *announcer) Report(ctx context.Context, e status.Event) error {
	return a.ReportBatch(ctx, []status.Event{e})
}

func (a *announcer) ReportBatch(ctx context.Context, events []status.Event) error {
	if err := a.history.Sync(ctx); err != nil {
		return status.Retryable(fmt.Errorf("%s: history not yet written: %w", a.name, err), 0)
	}
	if err := a.Publisher.ReportBatch(ctx, events); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range events {
		switch e.Kind {
		case status.BuildStarted:
			fmt.Fprintf(a.out, "%s: started %s #%d\n", a.name, e.Build.Builder, e.Build.Number)
		case status.BuildFinished:
			fmt.Fprintf(a.out, "%s: published %s #%d %s\n", a.name, e.Build.Builder, e.Build.Number, e.Build.Result)
		}
	}
	return nil
}

// front is a web front end: a Hub whose History is the front end's own,
// fed by a durable subscription to the stream.
type front struct {
	nc  *nats.Conn
	hub *status.Hub
	mem *store.Memory
	sub *bus.Subscription
	ws  *web.Server
}

// startFront subscribes durably and feeds the front end's Hub; a console
// reporter prints every build's start and end ("front: started master-a
// a-linux #3", "front: master-a a-linux #3 success").
func startFront(ctx context.Context, nb natsBus, durable, addr string, mem *store.Memory, stdout io.Writer, log *slog.Logger) (*front, error) {
	nc, js, err := connect(nb.url, "front-end")
	if err != nil {
		return nil, err
	}
	f := &front{nc: nc, mem: mem}
	if _, err := bus.EnsureStream(ctx, js, bus.StreamOptions{Partitions: nb.partitions}); err != nil {
		nc.Close()
		return nil, err
	}
	f.hub = status.NewHub(status.HubOptions{Logger: log, Master: "front-end", History: mem})
	if err := f.hub.Add(&console{history: mem, out: stdout}, status.WithName("console")); err != nil {
		nc.Close()
		return nil, err
	}
	if addr != "none" {
		if f.ws, err = web.New(web.Options{Title: "Herald cluster front end", History: mem, Logger: log}); err != nil {
			nc.Close()
			return nil, err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("front end web status: %w (pick another -addr, or -addr none)", err)
		}
		if err := f.hub.Add(f.ws, status.WithName("web")); err != nil {
			nc.Close()
			return nil, err
		}
		go func() { _ = f.ws.Serve(ln) }()
		fmt.Fprintf(stdout, "front: web status at http://%s/ (builders of every master)\n", ln.Addr())
	}
	f.sub, err = bus.Subscribe(ctx, js, bus.SubscribeOptions{Durable: durable, Partitions: nb.partitions, Flush: mem.Sync, Logger: log}, f.hub)
	if err != nil {
		_ = f.hub.Shutdown(context.Background())
		nc.Close()
		return nil, err
	}
	return f, nil
}

// console prints the start and end of every build once the front end's
// history file holds it, so that what it printed survives a kill -9.
type console struct {
	history *store.Memory
	out     io.Writer
}

var consoleKinds = status.KindsOf(status.BuildStarted, status.BuildFinished)

func (c *console) Handles(k status.Kind) bool { return consoleKinds.Has(k) }

func (c *console) MaxBatch() int { return 256 }

func (c *console) Report(ctx context.Context, e status.Event) error {
	return c.ReportBatch(ctx, []status.Event{e})
}

func (c *console) ReportBatch(ctx context.Context, events []status.Event) error {
	if err := c.history.Sync(ctx); err != nil {
		return status.Retryable(fmt.Errorf("console: history not yet written: %w", err), 0)
	}
	for _, e := range events {
		if e.Kind == status.BuildStarted {
			fmt.Fprintf(c.out, "front: started %s %s #%d\n", e.Master, e.Build.Builder, e.Build.Number)
		} else {
			fmt.Fprintf(c.out, "front: %s %s #%d %s\n", e.Master, e.Build.Builder, e.Build.Number, e.Build.Result)
		}
	}
	return nil
}

// close stops the subscription (acknowledging what the history has
// written), the Hub and the web server, then closes the history.
func (f *front) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := []error{f.sub.Close(ctx), f.hub.Shutdown(ctx)}
	if f.ws != nil {
		errs = append(errs, f.ws.Close(ctx))
	}
	errs = append(errs, f.mem.Close(ctx))
	f.nc.Close()
	return errors.Join(errs...)
}

// runAll runs every role in this process: the server (unless url names
// one), the front end with an in-memory history, and two masters.
func runAll(ctx context.Context, nb natsBus, dir, addr string, builds int, speed float64, stdout io.Writer, log *slog.Logger) error {
	if nb.url == "" {
		if dir == "" {
			tmp, err := os.MkdirTemp("", "herald-cluster-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		srv, err := startNATS(dir, "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		nb.url = srv.ClientURL()
	}
	fmt.Fprintf(stdout, "NATS JetStream at %s (%d stream partitions)\n", nb.url, max(nb.partitions, 1))
	mem := store.NewMemory(store.MemoryOptions{})
	f, err := startFront(ctx, nb, "front-end", addr, mem, stdout, log)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"master-a", "master-b"} {
		seed := uint64(i + 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runMaster(ctx, nb, name, "", builds, speed, &seed, io.Discard, log)
		}()
	}
	wg.Wait()

	// Let the front end catch up with everything the masters published.
	syncCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if err := f.sub.Sync(syncCtx); err != nil {
		errs = append(errs, err)
	}
	cancel()
	errs = append(errs, f.close())
	builders, _ := mem.Builders(context.Background())
	fmt.Fprintf(stdout, "front end saw %d events and %d builders:", f.sub.Stats().Published, len(builders))
	for _, b := range builders {
		fmt.Fprintf(stdout, " %s(%s)", b.Name, b.Master)
	}
	fmt.Fprintln(stdout)
	return errors.Join(errs...)
}
