package push

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

const crashDirEnv = "HERALD_PUSH_CRASH_DIR"

// TestCrashChild is the process TestCrash kills: it queues 2,000 packets
// for a dead receiver, most of them spilled to disk, and exits without
// Close.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	o := fastOptions()
	o.Dir, o.MaxMemoryItems = dir, 100
	p, err := HTTP("http://"+deadAddress(t)+"/submit", HTTPOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2000; i++ {
		if err := p.Report(context.Background(), buildEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	os.Exit(3) // a crash: no Close, no flush
}

// TestCrash: after the process dies without Close, a new Pusher on the
// same Dir sends exactly the packets the disk queue had committed, in order
// and once. The packets held in memory at the crash (queued or in the batch
// being sent, from memory) and the last, uncommitted spill group are lost,
// as documented; at least two full groups were committed.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	d, _, err := openDisk(dir) // what survived, read before the Pusher starts
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := d.read(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	if len(onDisk) < 2*spillBatch {
		t.Fatalf("only %d packets survived the crash, want at least %d", len(onDisk), 2*spillBatch)
	}

	rc := newReceiver(t, Form, 200, 1<<20)
	srv := serve(t, rc, "")
	o := fastOptions()
	o.Dir = dir
	p, err := HTTP(srv.URL, HTTPOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	last := onDisk[len(onDisk)-1].id
	rc.wait("the surviving packets", 30*time.Second, func(rc *receiver) bool {
		return len(rc.got) > 0 && rc.got[len(rc.got)-1].ID >= last
	})
	got := rc.packets()
	if len(got) != len(onDisk) {
		t.Fatalf("%d packets arrived, %d survived on disk", len(got), len(onDisk))
	}
	for i := range got {
		if got[i].ID != onDisk[i].id {
			t.Fatalf("packet %d is %d, want %d (lost, repeated or reordered)", i, got[i].ID, onDisk[i].id)
		}
	}
	// New packets get ids after every surviving one. (Ids of packets lost
	// in memory may be reused: no receiver saw them, since every
	// acknowledgement records the highest id handed out.)
	if err := p.Report(context.Background(), buildEvent(2001)); err != nil {
		t.Fatal(err)
	}
	rc.wait("the new packet", 10*time.Second, func(rc *receiver) bool {
		return rc.got[len(rc.got)-1].ID > last
	})
}
