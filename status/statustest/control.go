package statustest

import (
	"context"
	"fmt"
	"sync"

	"github.com/heraldci/herald/status"
)

// Call is one recorded Control call: the method name and its arguments
// formatted with %v, e.g. {"StopBuild", "linux 7 alice why"}.
type Call struct {
	Method string
	Args   string
}

// Control is a fake status.Control that records every call. Err, if set,
// decides each call's result (nil: success).
type Control struct {
	Err func(method string) error

	mu           sync.Mutex
	calls        []Call
	forced       int
	shuttingDown bool
}

var _ status.Control = (*Control)(nil)

// Calls returns the calls so far.
func (c *Control) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Call(nil), c.calls...)
}

func (c *Control) record(ctx context.Context, method string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.calls = append(c.calls, Call{Method: method, Args: fmt.Sprint(args...)})
	c.mu.Unlock()
	if c.Err != nil {
		return c.Err(method)
	}
	return nil
}

// ForceBuild records the call and returns a request numbered after the
// ForceBuild calls so far: ID "1", BuildSetID "bs1", then "2", "bs2"...
func (c *Control) ForceBuild(ctx context.Context, r status.ForceRequest) (*status.BuildRequest, error) {
	if err := c.record(ctx, "ForceBuild", fmt.Sprintf("%+v", r)); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.forced++
	n := c.forced
	c.mu.Unlock()
	return &status.BuildRequest{ID: fmt.Sprint(n), BuildSetID: fmt.Sprint("bs", n), Builder: r.Builder, Reason: r.Reason}, nil
}
func (c *Control) StopBuild(ctx context.Context, builder string, number int, who, reason string) error {
	return c.record(ctx, "StopBuild", builder, " ", number, " ", who, " ", reason)
}
func (c *Control) Rebuild(ctx context.Context, builder string, number int, who, reason string) error {
	return c.record(ctx, "Rebuild", builder, " ", number, " ", who, " ", reason)
}
func (c *Control) PingBuilder(ctx context.Context, builder string) error {
	return c.record(ctx, "PingBuilder", builder)
}
func (c *Control) CancelRequest(ctx context.Context, id, who string) error {
	return c.record(ctx, "CancelRequest", id, " ", who)
}
func (c *Control) StopChange(ctx context.Context, change int64, who string) error {
	return c.record(ctx, "StopChange", change, " ", who)
}
func (c *Control) ShutdownWorker(ctx context.Context, worker string) error {
	return c.record(ctx, "ShutdownWorker", worker)
}
func (c *Control) PauseWorker(ctx context.Context, worker string, paused bool) error {
	return c.record(ctx, "PauseWorker", worker, " ", paused)
}
func (c *Control) ShutdownMaster(ctx context.Context, clean bool) error {
	err := c.record(ctx, "ShutdownMaster", clean)
	if err == nil && clean {
		c.mu.Lock()
		c.shuttingDown = true
		c.mu.Unlock()
	}
	return err
}
func (c *Control) CancelShutdown(ctx context.Context) error {
	err := c.record(ctx, "CancelShutdown")
	if err == nil {
		c.mu.Lock()
		c.shuttingDown = false
		c.mu.Unlock()
	}
	return err
}
func (c *Control) ShutdownState(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shuttingDown, nil
}
