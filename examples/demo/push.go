package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/heraldci/herald/outbox"
	"github.com/heraldci/herald/push"
	"github.com/heraldci/herald/status"
)

// pushTarget wires HttpStatusPush in: -push sends every event to a receiver
// the demo serves itself at /push/receive (GET it for the count), -push-url
// to any receiver of Buildbot 0.8.12's packets= format; -push-outbox keeps
// the Hub's queue for it in a file across crashes and restarts of the demo.
type pushTarget struct {
	self   bool
	url    string
	outbox string
	p      *push.Pusher
}

func (t *pushTarget) Flags(fs *flag.FlagSet) {
	fs.BoolVar(&t.self, "push", false, "HttpStatusPush every event to the demo's own receiver at /push/receive")
	fs.StringVar(&t.url, "push-url", "", "HttpStatusPush every event to this receiver URL (0.8.12 packets= form)")
	fs.StringVar(&t.outbox, "push-outbox", "", "keep the push queue in this outbox file, so it survives crashes and restarts")
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
	p, err := push.New(push.Options{URL: target, Project: "Herald demo", Logger: d.log})
	if err != nil {
		return err
	}
	t.p = p
	var opts []status.AddOption
	var ob *outbox.File
	if t.outbox != "" {
		if ob, err = outbox.Open(t.outbox, outbox.Options{Logger: d.log}); err != nil {
			return err
		}
		opts = append(opts, status.WithOutbox(ob))
	}
	d.hub.Add(p, opts...)
	d.where("push: every event to %s", target)
	d.onClose(func(context.Context) error {
		st := p.Stats()
		fmt.Fprintf(d.out, "push: %d packets sent in %d requests, %d rejected\n", st.Sent, st.Batches, st.Rejected)
		if ob == nil {
			return nil
		}
		fmt.Fprintf(d.out, "push: %d events left in %s for the next start\n", ob.Len(), ob.Path())
		return ob.Close()
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
