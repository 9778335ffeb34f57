package mail

import (
	"context"
	"errors"

	"github.com/heraldci/herald/status"
)

// Render returns the message Options o would send about the finished build
// b, encoded exactly as it would go on the wire, without sending anything:
// a dry run to preview mails and test a MessageFormatter. It renders even
// when no Mode selects b (FormatInput.Mode is then zero), reads History as a
// real mail would, and has no thread memory, so In-Reply-To names the
// thread's root. Multipart boundaries are random.
func Render(ctx context.Context, b *status.Build, o Options) ([]byte, error) {
	if b == nil {
		return nil, errors.New("mail: Render of a nil build")
	}
	if o.Sender == nil {
		// Render never sends; a placeholder keeps New from asking for TLS.
		o.Sender = SenderFunc(func(context.Context, *Envelope) error { return errors.New("mail: Render does not send") })
	}
	n, err := New(o)
	if err != nil {
		return nil, err
	}
	it, err := n.decide(ctx, b)
	if err != nil {
		return nil, err
	}
	m, _, err := n.compose(ctx, []item{it}, nil)
	if err != nil {
		return nil, err
	}
	return m.Encode()
}
