package github

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/heraldci/herald/status"
)

// maxLogLine bounds a log line kept, in bytes; the rest of a longer line
// is dropped.
const maxLogLine = 4 << 10

// readLog reads a log from h line by line, calling each with every line
// (terminal sequences and control characters removed), and returns its last
// n lines. It reads the whole log, holding no more than n lines, and stops
// when ctx ends.
func readLog(ctx context.Context, h status.History, ref status.LogRef, n int, each func(string)) ([]string, error) {
	rc, err := h.Log(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tail := make([]string, 0, n)
	next := 0 // where the next line goes once tail is full
	br := bufio.NewReaderSize(rc, 64<<10)
	for count := 0; ; count++ {
		if count%1024 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		line, err := readLine(br)
		if err == io.EOF && line == "" {
			break
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		line = clean(line)
		each(line)
		if len(tail) < n {
			tail = append(tail, line)
		} else {
			tail[next] = line
			next = (next + 1) % n
		}
		if err == io.EOF {
			break
		}
	}
	return append(tail[next:], tail[:next]...), nil
}

// readLine reads one line without its end, keeping at most maxLogLine
// bytes of it.
func readLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		frag, err := br.ReadSlice('\n')
		if room := maxLogLine - sb.Len(); room > 0 {
			sb.Write(frag[:min(len(frag), room)])
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return strings.TrimRight(sb.String(), "\r\n"), err
		}
		return strings.TrimRight(sb.String(), "\r\n"), nil
	}
}

// clean removes terminal sequences, invalid UTF-8 and control characters
// other than tabs from a log line.
func clean(line string) string {
	line = ansi.ReplaceAllString(line, "")
	line = strings.ToValidUTF8(line, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, line)
}

// logText is the output text of a check run: the tail of the failing
// step's log in a fenced code block, as many of its last lines as fit in
// GitHub's limit.
func logText(step, log string, tail []string) string {
	head := fmt.Sprintf("The last %d lines of the log %s of the step %s:\n\n", len(tail), markdown(log), markdown(step))
	fence := strings.Repeat("`", max(3, longestRun(tail, '`')+1))
	size := func(ls []string) int {
		n := utf8.RuneCountInString(head) + 2*(len(fence)+1)
		for _, l := range ls {
			n += utf8.RuneCountInString(l) + 1
		}
		return n
	}
	for len(tail) > 0 && size(tail) > maxOutput {
		tail = tail[1:]
		head = fmt.Sprintf("The last %d lines of the log %s of the step %s:\n\n", len(tail), markdown(log), markdown(step))
	}
	return head + fence + "\n" + strings.Join(tail, "\n") + "\n" + fence + "\n"
}

// longestRun is the longest run of c in any of lines: a fence longer than
// it cannot be closed by the log's own text.
func longestRun(lines []string, c rune) int {
	most := 0
	for _, l := range lines {
		run := 0
		for _, r := range l {
			if r == c {
				run++
				most = max(most, run)
			} else {
				run = 0
			}
		}
	}
	return most
}
