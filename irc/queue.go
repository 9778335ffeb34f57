package irc

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrQueueFull is returned (wrapped, Retryable) by Report when the lines
// waiting to be sent fill Options.QueueSize: the server is slower than the
// builds, or the bot is disconnected for long.
var ErrQueueFull = errors.New("irc: send queue is full")

// outbox holds the lines waiting to be sent, in four lanes: urgent lines
// (registration, PONG, QUIT) go first and skip flood control; session
// lines (NickServ, JOIN) go next; then answers to commands, so people
// asking are not kept behind a backlog of announcements; then
// announcements. The last two lanes survive reconnections: what was said
// while the server was away is delivered once the bot is back.
//
// IRC acknowledges nothing, and a line written just as the connection dies
// is lost in the socket. So answers and announcements stay in flight once
// written, until the server answers a PING the writer sends after them
// (mark and ack); when the connection ends first, they go back to the
// front of their lanes and are sent again on the next one. A line the
// server took just before the loss is then said twice: rarer, and better
// than never.
type outbox struct {
	mu       sync.Mutex
	urgent   []string
	session  []string
	answers  []string
	announce []string
	inflight []flying      // written, not yet acknowledged, oldest first
	taken    uint64        // answer and announcement lines written so far
	marked   uint64        // taken when the last mark was sent
	limit    int           // per lane, for answers and announcements
	wake     chan struct{} // a token when something may be sendable
	idle     chan struct{} // a token when the paced lanes ran empty, or may never empty
	// seen remembers recent announcements per place, for coalescing.
	seen   map[string]time.Time
	window time.Duration
}

func newOutbox(limit int, window time.Duration) *outbox {
	return &outbox{limit: limit, window: window, wake: make(chan struct{}, 1), idle: make(chan struct{}, 1), seen: map[string]time.Time{}}
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// pushUrgent queues a line that skips flood control.
func (o *outbox) pushUrgent(line string) {
	o.mu.Lock()
	o.urgent = append(o.urgent, line)
	o.mu.Unlock()
	o.signal()
}

// pushSession queues a line of the current session (JOIN, IDENTIFY).
func (o *outbox) pushSession(line string) {
	o.mu.Lock()
	o.session = append(o.session, line)
	o.mu.Unlock()
	o.signal()
}

// pushAnswer queues the lines of an answer, all or nothing.
func (o *outbox) pushAnswer(lines []string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.answers)+len(lines) > o.limit {
		return ErrQueueFull
	}
	o.answers = append(o.answers, lines...)
	o.signal()
	return nil
}

// pushAnnouncement queues the lines of an announcement, all or nothing.
// Lines identical to what was queued under the same key within the
// coalescing window are dropped silently (that is the point); it then
// reports false.
func (o *outbox) pushAnnouncement(lines []string, key string, now time.Time) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.announce)+len(lines) > o.limit {
		return false, ErrQueueFull
	}
	if o.window > 0 {
		for k, t := range o.seen { // prune, so the map stays as small as the window
			if now.Sub(t) >= o.window {
				delete(o.seen, k)
			}
		}
		if _, dup := o.seen[key]; dup {
			return false, nil
		}
		o.seen[key] = now
	}
	o.announce = append(o.announce, lines...)
	o.signal()
	return true, nil
}

// resetSession forgets the lines of a session that ended.
func (o *outbox) resetSession() {
	o.mu.Lock()
	o.urgent, o.session = nil, nil
	o.mu.Unlock()
}

// nextUrgent takes the next line that skips flood control.
func (o *outbox) nextUrgent() (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.urgent) == 0 {
		return "", false
	}
	line := o.urgent[0]
	o.urgent = o.urgent[1:]
	return line, true
}

// hasPaced reports whether a line under flood control may go out once
// registered says the session lanes flow.
func (o *outbox) hasPaced(registered bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return registered && len(o.session)+len(o.answers)+len(o.announce) > 0
}

// flying is an answer or announcement line written to the server and not
// yet acknowledged; n is its number among the lines taken.
type flying struct {
	line   string
	n      uint64
	answer bool
}

// markPrefix starts the token of the PINGs that acknowledge lines.
const markPrefix = "herald-ack-"

// markEvery is how many lines may be written between two marks while a
// backlog is being sent, which bounds what is in flight (and what a lost
// connection makes the bot say again) to about that many lines.
const markEvery = 16

// mark returns a PING to send after the lines written so far: when the
// writer pauses (idle) and lines were written since the last mark, or
// when markEvery lines were.
func (o *outbox) mark(idle bool) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.taken == o.marked || (!idle && o.taken-o.marked < markEvery) {
		return "", false
	}
	o.marked = o.taken
	return "PING :" + markPrefix + strconv.FormatUint(o.taken, 10), true
}

// ack forgets the lines a PONG to the mark with token acknowledges.
func (o *outbox) ack(token string) {
	n, err := strconv.ParseUint(strings.TrimPrefix(token, markPrefix), 10, 64)
	if err != nil || !strings.HasPrefix(token, markPrefix) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	i := 0
	for i < len(o.inflight) && o.inflight[i].n <= n {
		i++
	}
	clear(o.inflight[:i])
	o.inflight = o.inflight[i:]
}

// requeue puts the lines in flight back at the front of their lanes, in
// order, when the connection they were written to has ended.
func (o *outbox) requeue() {
	o.mu.Lock()
	defer o.mu.Unlock()
	var answers, announce []string
	for _, f := range o.inflight {
		if f.answer {
			answers = append(answers, f.line)
		} else {
			announce = append(announce, f.line)
		}
	}
	o.answers = append(answers, o.answers...)
	o.announce = append(announce, o.announce...)
	o.inflight = nil
	o.marked = o.taken
}

// nextPaced takes the next line under flood control: session lines first.
func (o *outbox) nextPaced(registered bool) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var line string
	switch {
	case !registered:
		return "", false
	case len(o.session) > 0:
		line, o.session = o.session[0], o.session[1:]
	case len(o.answers) > 0:
		line = o.answers[0]
		o.answers[0] = ""
		o.answers = o.answers[1:]
		o.taken++
		o.inflight = append(o.inflight, flying{line: line, n: o.taken, answer: true})
	case len(o.announce) > 0:
		line = o.announce[0]
		o.announce[0] = ""
		o.announce = o.announce[1:]
		o.taken++
		o.inflight = append(o.inflight, flying{line: line, n: o.taken})
	default:
		return "", false
	}
	if len(o.session)+len(o.answers)+len(o.announce) == 0 {
		o.signalIdle()
	}
	return line, true
}

func (o *outbox) signalIdle() {
	select {
	case o.idle <- struct{}{}:
	default:
	}
}

// pending returns the number of lines under flood control still queued.
func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.session) + len(o.answers) + len(o.announce)
}

// throttle is the flood control: a token bucket of burst lines refilled at
// one line per interval. It is what IRC servers enforce (ircd-hybrid: a
// burst of 5, then about one line a second; many networks allow less), so
// a bot that keeps to it is never killed for "Excess Flood".
type throttle struct {
	burst    float64
	interval time.Duration
	tokens   float64
	last     time.Time
}

func newThrottle(burst int, interval time.Duration) *throttle {
	return &throttle{burst: float64(burst), interval: interval, tokens: float64(burst)}
}

// wait returns how long until a line may go out (0: now).
func (t *throttle) wait(now time.Time) time.Duration {
	t.refill(now)
	if t.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - t.tokens) * float64(t.interval))
}

// take spends one line's token.
func (t *throttle) take(now time.Time) {
	t.refill(now)
	t.tokens--
}

func (t *throttle) refill(now time.Time) {
	if !t.last.IsZero() && t.interval > 0 {
		t.tokens = min(t.burst, t.tokens+float64(now.Sub(t.last))/float64(t.interval))
	}
	t.last = now
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
