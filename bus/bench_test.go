//go:build unix

package bus_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/heraldci/herald/bus"
	"github.com/heraldci/herald/status"
)

// serverDirEnv asks this test binary to be a nats-server, as in a
// deployment where the server is its own process: TestMain serves
// JetStream from the directory it names on a free loopback port, prints
// the client URL and serves until killed.
const serverDirEnv = "HERALD_BUS_SERVER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(serverDirEnv); dir != "" {
		s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
			NoLog: true, NoSigs: true, JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		s.Start()
		if !s.ReadyForConnections(10 * time.Second) {
			fmt.Fprintln(os.Stderr, "nats-server not ready")
			os.Exit(1)
		}
		fmt.Println(s.ClientURL())
		s.WaitForShutdown()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProcess starts a nats-server in a child process and returns its
// client URL and process ID; the child is killed when b ends.
func serverProcess(b *testing.B) (string, int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverDirEnv+"="+b.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("nats-server process: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// latencyRecorder notes how long each event took from Hub.Publish (which
// stamps e.Time) to its arrival; it stands for a front end's Hub and for a
// reporter of an in-process one.
type latencyRecorder struct {
	mu   sync.Mutex
	lat  []time.Duration
	want int
	done chan struct{}
}

func newLatencyRecorder(want int) *latencyRecorder {
	return &latencyRecorder{want: want, done: make(chan struct{}), lat: make([]time.Duration, 0, want)}
}

func (l *latencyRecorder) Publish(e status.Event) {
	d := time.Since(e.Time)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lat = append(l.lat, d)
	if len(l.lat) == l.want {
		close(l.done)
	}
}

func (l *latencyRecorder) Report(_ context.Context, e status.Event) error {
	l.Publish(e)
	return nil
}

// serverPID is the nats-server child process of the running benchmark, if
// any, whose CPU time counts too.
var serverPID int

// cpuTime is the user and system CPU time so far of this process and of
// the nats-server child (read from /proc; 10 ms ticks).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if serverPID != 0 {
		t += childCPU(serverPID)
	}
	return t
}

// childCPU reads utime and stime of pid from /proc/pid/stat.
func childCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// report reports latency percentiles, throughput, and the CPU time the
// process (server, master and front end alike) spent per event since cpu0:
// on a shared machine throughput follows the CPU share the process gets,
// and CPU per event is the figure that does not.
func (l *latencyRecorder) report(b *testing.B, elapsed, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(len(l.lat)), "cpu-µs/event")
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.lat)
	b.ReportMetric(float64(l.lat[len(l.lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(l.lat[len(l.lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(len(l.lat))/elapsed.Seconds(), "events/s")
}

// path is one way from a master's Publish to a front end: through
// JetStream, or inside one process.
type path struct {
	name  string
	setup func(b *testing.B, rec *latencyRecorder) (*status.Hub, func())
}

var paths = []path{
	{"jetstream", jetstreamPath(bus.StreamOptions{}, false)},
	{"jetstream-2-partitions", jetstreamPath(bus.StreamOptions{Partitions: 2}, false)},
	{"jetstream-server-process", jetstreamPath(bus.StreamOptions{}, true)},
	{"jetstream-async-persist", jetstreamPath(bus.StreamOptions{AsyncPersist: true}, false)},
	{"jetstream-memory", jetstreamPath(bus.StreamOptions{Memory: true}, false)},
	{"in-process-hub", func(b *testing.B, rec *latencyRecorder) (*status.Hub, func()) {
		h := status.NewHub(status.HubOptions{Logger: quiet, QueueSize: 1 << 20})
		_ = h.Add(rec)
		return h, func() {}
	}},
}

// jetstreamPath runs a server (in this process, or in a child process when
// apart is set), a master Hub publishing to a stream made with o, and a
// subscriber feeding rec.
func jetstreamPath(o bus.StreamOptions, apart bool) func(b *testing.B, rec *latencyRecorder) (*status.Hub, func()) {
	return func(b *testing.B, rec *latencyRecorder) (*status.Hub, func()) {
		var url string
		if apart {
			url, serverPID = serverProcess(b)
			b.Cleanup(func() { serverPID = 0 })
		} else {
			url = startServer(b, b.TempDir(), 0).ClientURL()
		}
		_, js := connect(b, url)
		if _, err := bus.EnsureStream(context.Background(), js, o); err != nil {
			b.Fatal(err)
		}
		sub, err := bus.Subscribe(context.Background(), js, bus.SubscribeOptions{Durable: "bench", Partitions: o.Partitions, Logger: quiet}, rec)
		if err != nil {
			b.Fatal(err)
		}
		_, pjs := connect(b, url)
		p, err := bus.NewPublisher(bus.PublisherOptions{JetStream: pjs, Partitions: o.Partitions})
		if err != nil {
			b.Fatal(err)
		}
		h := status.NewHub(status.HubOptions{Logger: quiet, Master: "m1", QueueSize: 1 << 20})
		if err := h.Add(p); err != nil {
			b.Fatal(err)
		}
		return h, func() { _ = sub.Close(context.Background()) }
	}
}

// BenchmarkEndToEnd measures saturation: b.N events published as fast as
// possible, events/s and latency from Publish to arrival, through JetStream
// and, in the same run, through an in-process Hub.
func BenchmarkEndToEnd(b *testing.B) {
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			rec := newLatencyRecorder(b.N)
			h, stop := p.setup(b, rec)
			defer stop()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := range b.N {
				h.Publish(buildEvent(fmt.Sprintf("b%d", i%8), i))
			}
			<-rec.done
			elapsed := time.Since(start)
			b.StopTimer()
			_ = h.Shutdown(context.Background())
			rec.report(b, elapsed, cpu0)
		})
	}
}

// BenchmarkLatencyAtRate offers a fixed rate for two seconds and reports
// p50/p99 from Publish to arrival at each rate, beside the in-process Hub.
// It ignores b.N: run it with -benchtime 1x.
func BenchmarkLatencyAtRate(b *testing.B) {
	for _, rate := range []int{1000, 10000, 25000} {
		for _, p := range paths {
			b.Run(fmt.Sprintf("rate=%d/%s", rate, p.name), func(b *testing.B) {
				n := 2 * rate
				rec := newLatencyRecorder(n)
				h, stop := p.setup(b, rec)
				defer stop()
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime()
				for i := range n {
					if due := start.Add(time.Duration(i) * time.Second / time.Duration(rate)); time.Until(due) > 0 {
						time.Sleep(time.Until(due)) // pacing the offered load
					}
					h.Publish(buildEvent(fmt.Sprintf("b%d", i%8), i))
				}
				select {
				case <-rec.done:
				case <-time.After(time.Minute):
					b.Fatalf("only %d of %d events arrived", len(rec.lat), n)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				_ = h.Shutdown(context.Background())
				rec.report(b, elapsed, cpu0)
			})
		}
	}
}
