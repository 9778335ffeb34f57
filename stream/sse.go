package stream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	id    string
	hasID bool
	event string
	data  []byte
}

// maxEventBytes bounds one event, so a broken or hostile server cannot make
// the client buffer without end.
const maxEventBytes = 16 << 20

var errEventTooLarge = errors.New("stream: event larger than 16 MiB")

// sseReader parses the text/event-stream format (WHATWG HTML, "Server-sent
// events"): lines end in LF, CRLF or CR; "field: value"; one optional space
// after the colon; data lines join with LF; a blank line dispatches; lines
// starting with ':' are comments.
type sseReader struct {
	r       *bufio.Reader
	buf     []byte
	afterCR bool
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: bufio.NewReaderSize(r, 64<<10)} }

// next returns the next event with data (events without data only update
// the id, as the spec says, and are returned with empty data).
func (p *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	seen := false
	for {
		line, err := p.line()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !seen {
				continue
			}
			if data.Len() > 0 {
				ev.data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
			}
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		seen = true
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "data":
			if data.Len()+len(value) > maxEventBytes {
				return sseEvent{}, errEventTooLarge
			}
			data.Write(value)
			data.WriteByte('\n')
		case "event":
			ev.event = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				ev.id, ev.hasID = string(value), true
			}
		}
	}
}

// line reads one line without its terminator. A CR ends the line at once;
// a LF right after it is skipped when the next line is read, so a stream
// of CR-ended lines is not held up waiting for a LF that never comes.
func (p *sseReader) line() ([]byte, error) {
	p.buf = p.buf[:0]
	if p.afterCR {
		p.afterCR = false
		c, err := p.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c != '\n' {
			_ = p.r.UnreadByte()
		}
	}
	for {
		if p.r.Buffered() == 0 {
			if _, err := p.r.Peek(1); err != nil {
				if err == io.EOF && len(p.buf) > 0 {
					return nil, io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		chunk, _ := p.r.Peek(p.r.Buffered())
		i := bytes.IndexAny(chunk, "\r\n")
		if i < 0 {
			p.buf = append(p.buf, chunk...)
			_, _ = p.r.Discard(len(chunk))
			if len(p.buf) > maxEventBytes {
				return nil, errEventTooLarge
			}
			continue
		}
		p.buf = append(p.buf, chunk[:i]...)
		p.afterCR = chunk[i] == '\r'
		_, _ = p.r.Discard(i + 1)
		return p.buf, nil
	}
}
