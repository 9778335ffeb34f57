// Command cluster runs Herald across "machines" on NATS JetStream, in one
// command: an embedded nats-server (or -nats URL), two simulated masters
// publishing their events to the stream over their own connections, and one
// front end that subscribes durably and feeds its own Hub, store and
// console and web status, showing the builders of both masters.
//
//	go run ./examples/cluster -builds 4
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
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
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats", "", "NATS server URL (default: run an embedded one with JetStream)")
	dir := fs.String("store", "", "JetStream store directory of the embedded server (default: a temporary one)")
	builds := fs.Int("builds", 0, "stop each master after this many builds (0: until interrupted)")
	speed := fs.Float64("speed", 1, "simulation speed factor")
	addr := fs.String("addr", "127.0.0.1:8011", "HTTP address of the front end's web status (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *natsURL == "" {
		if *dir == "" {
			tmp, err := os.MkdirTemp("", "herald-cluster-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			*dir = tmp
		}
		srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: *dir, NoLog: true, NoSigs: true})
		if err != nil {
			return fmt.Errorf("embedded nats-server: %w", err)
		}
		srv.Start()
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		if !srv.ReadyForConnections(10 * time.Second) {
			return errors.New("embedded nats-server did not start")
		}
		*natsURL = srv.ClientURL()
	}
	fmt.Fprintf(stdout, "NATS JetStream at %s\n", *natsURL)

	connect := func(name string) (*nats.Conn, jetstream.JetStream, error) {
		nc, err := nats.Connect(*natsURL, nats.Name(name), nats.MaxReconnects(-1))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: connect to %s: %w", name, *natsURL, err)
		}
		js, err := jetstream.New(nc)
		return nc, js, err
	}

	// The front end: its own connection, a durable subscription into a Hub.
	fnc, fjs, err := connect("front-end")
	if err != nil {
		return err
	}
	defer fnc.Close()
	if _, err := bus.EnsureStream(ctx, fjs, bus.StreamOptions{}); err != nil {
		return err
	}
	mem := store.NewMemory(store.MemoryOptions{})
	front := status.NewHub(status.HubOptions{History: mem, Logger: log, Master: "front-end"})
	front.Add(status.Filter(status.ReporterFunc(func(_ context.Context, e status.Event) error {
		b := e.Build
		fmt.Fprintf(stdout, "front end: %-8s %-8s #%-3d %s\n", e.Master, b.Builder, b.Number, b.Result)
		return nil
	}), status.Kinds(status.BuildFinished)), status.WithName("console"))
	if *addr != "" {
		ws, err := web.New(web.Options{Title: "Herald cluster front end", History: mem, Logger: log})
		if err != nil {
			return err
		}
		front.Add(ws, status.WithName("web"))
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return fmt.Errorf("front end web status: %w (pick another -addr, or -addr '')", err)
		}
		go func() { _ = ws.Serve(ln) }()
		defer ws.Close(context.Background())
		fmt.Fprintf(stdout, "front end web status: http://%s/ (builders of both masters)\n", ln.Addr())
	}
	sub, err := bus.Subscribe(ctx, fjs, bus.SubscribeOptions{Durable: "front-end", Logger: log}, front)
	if err != nil {
		return err
	}

	// Two masters, each with its own connection and Hub.
	var wg sync.WaitGroup
	var errs []error
	var mu sync.Mutex
	for i, name := range []string{"master-a", "master-b"} {
		nc, js, err := connect(name)
		if err != nil {
			return err
		}
		defer nc.Close()
		pub, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js})
		if err != nil {
			return err
		}
		hub := status.NewHub(status.HubOptions{Logger: log, Master: name})
		hub.Add(pub)
		m := sim.New(hub, sim.Options{Seed: uint64(i + 1), Speed: *speed, Builders: []string{name[len(name)-1:] + "-linux", name[len(name)-1:] + "-docs"}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Run(ctx, *builds, nil)
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := hub.Shutdown(sctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	// Let the front end catch up with everything the masters published.
	want := uint64(0)
	if st, err := fjs.Stream(ctx, "HERALD"); err == nil {
		if info, err := st.Info(ctx); err == nil {
			want = info.State.Msgs
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for sub.Stats().Published+sub.Stats().Duplicates < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond) // waiting for a remote process, not synchronising goroutines
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs = append(errs, sub.Close(sctx), front.Shutdown(sctx))
	builders, _ := mem.Builders(sctx)
	fmt.Fprintf(stdout, "front end saw %d events and %d builders:", sub.Stats().Published, len(builders))
	for _, b := range builders {
		fmt.Fprintf(stdout, " %s(%s)", b.Name, b.Master)
	}
	fmt.Fprintln(stdout)
	return errors.Join(errs...)
}
