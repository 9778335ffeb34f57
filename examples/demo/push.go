package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/heraldci/herald/push"
)

// pushTarget wires HttpStatusPush in: -push sends every event to a receiver
// the demo serves itself at /push/receive (GET it for the count), -push-url
// to any receiver of Buildbot 0.8.12's packets= format; -push-dir keeps
// the queue on disk across restarts of the demo.
type pushTarget struct {
	self bool
	url  string
	dir  string
	p    *push.Pusher
}

func (t *pushTarget) Flags(fs *flag.FlagSet) {
	fs.BoolVar(&t.self, "push", false, "HttpStatusPush every event to the demo's own receiver at /push/receive")
	fs.StringVar(&t.url, "push-url", "", "HttpStatusPush every event to this receiver URL (0.8.12 packets= form)")
	fs.StringVar(&t.dir, "push-dir", "", "keep the push queue in this directory, so it survives restarts")
}

func (t *pushTarget) Start(ctx context.Context, d *demo) error {
	target := t.url
	if t.self && target == "" {
		if d.url == "" {
			return errors.New("-push needs the demo's HTTP server: set -addr")
		}
		r := &pushReceiver{}
		d.handle("/push/receive", r)
		target = d.url + "/push/receive"
	}
	if target == "" {
		return nil
	}
	p, err := push.HTTP(target, push.HTTPOptions{Options: push.Options{
		Project: "Herald demo", Dir: t.dir, Logger: d.log,
	}})
	if err != nil {
		return err
	}
	t.p = p
	d.hub.Add(p)
	d.where("push: every event to %s", target)
	d.onClose(func(context.Context) error {
		st := p.Stats()
		fmt.Fprintf(d.out, "push: %d packets sent in %d batches, %d retried, %d dropped, %d rejected, %d left on disk\n",
			st.Sent, st.Batches, st.Retried, st.Dropped, st.Rejected, st.QueuedDisk)
		return nil
	})
	return nil
}

// pushReceiver is a minimal status front end: it decodes packets as a
// 0.8.12 receiver would and counts them.
type pushReceiver struct{ packets, batches atomic.Int64 }

func (r *pushReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodGet {
		fmt.Fprintf(w, "%d packets in %d batches\n", r.packets.Load(), r.batches.Load())
		return
	}
	if err := req.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ps, err := push.DecodePackets([]byte(req.PostForm.Get("packets")))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.packets.Add(int64(len(ps)))
	r.batches.Add(1)
}
