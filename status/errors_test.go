package status_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

func TestRetryable(t *testing.T) {
	base := errors.New("503 from server")
	err := status.Retryable(base, 3*time.Second)
	if after, ok := status.RetryAfter(err); !ok || after != 3*time.Second {
		t.Errorf("RetryAfter = %v, %v", after, ok)
	}
	if !errors.Is(err, base) {
		t.Error("Retryable does not wrap its error")
	}
	wrapped := fmt.Errorf("github: %w", err)
	if after, ok := status.RetryAfter(wrapped); !ok || after != 3*time.Second {
		t.Errorf("RetryAfter through %%w = %v, %v", after, ok)
	}
	if status.Retryable(nil, time.Second) != nil {
		t.Error("Retryable(nil) != nil")
	}
	if _, ok := status.RetryAfter(base); ok {
		t.Error("a plain error is retryable")
	}
	if after, _ := status.RetryAfter(status.Retryable(base, -time.Second)); after != 0 {
		t.Errorf("negative after = %v, want 0", after)
	}
}

func response(code int, h map[string]string, body string) *http.Response {
	r := &http.Response{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

func TestClassifyResponse(t *testing.T) {
	reset := strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10)
	for _, tc := range []struct {
		name      string
		resp      *http.Response
		nilErr    bool
		retryable bool
		minAfter  time.Duration
		maxAfter  time.Duration
	}{
		{"200", response(200, nil, ""), true, false, 0, 0},
		{"201", response(201, nil, ""), true, false, 0, 0},
		{"204", response(204, nil, ""), true, false, 0, 0},
		{"400", response(400, nil, "bad"), false, false, 0, 0},
		{"401", response(401, nil, "Bad credentials"), false, false, 0, 0},
		{"404", response(404, nil, ""), false, false, 0, 0},
		{"422", response(422, nil, `{"message":"No commit found for SHA"}`), false, false, 0, 0},
		{"403 plain", response(403, nil, "forbidden"), false, false, 0, 0},
		{"403 rate limit reset", response(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, ""), false, true, 85 * time.Second, 95 * time.Second},
		{"403 secondary retry-after", response(403, map[string]string{"Retry-After": "60"}, "secondary rate limit"), false, true, 60 * time.Second, 60 * time.Second},
		{"429 retry-after", response(429, map[string]string{"Retry-After": "7"}, ""), false, true, 7 * time.Second, 7 * time.Second},
		{"429 http-date", response(429, map[string]string{"Retry-After": time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)}, ""), false, true, 28 * time.Second, 31 * time.Second},
		{"429 bare", response(429, nil, ""), false, true, 0, 0},
		{"408", response(408, nil, ""), false, true, 0, 0},
		{"500", response(500, nil, "oops"), false, true, 0, 0},
		{"502", response(502, nil, ""), false, true, 0, 0},
		{"503 retry-after", response(503, map[string]string{"Retry-After": "120"}, ""), false, true, 120 * time.Second, 120 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := status.ClassifyResponse(tc.resp)
			if (err == nil) != tc.nilErr {
				t.Fatalf("ClassifyResponse = %v, want nil: %v", err, tc.nilErr)
			}
			if err == nil {
				return
			}
			after, ok := status.RetryAfter(err)
			if ok != tc.retryable || after < tc.minAfter || after > tc.maxAfter {
				t.Errorf("ClassifyResponse = %v: retryable %v after %v; want %v within [%v, %v]", err, ok, after, tc.retryable, tc.minAfter, tc.maxAfter)
			}
			var se *status.ResponseError
			if !errors.As(err, &se) || se.Code != tc.resp.StatusCode {
				t.Errorf("ClassifyResponse = %v: want a *ResponseError with code %d", err, tc.resp.StatusCode)
			}
		})
	}
}

func TestClassifyResponseBoundsBody(t *testing.T) {
	err := status.ClassifyResponse(response(400, nil, strings.Repeat("x", 10000)))
	if len(err.Error()) > 600 {
		t.Errorf("error message is %d bytes: the body must be cut", len(err.Error()))
	}
}

func TestNetError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
	}{
		{"nil", nil, false},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("post: %w", syscall.ECONNRESET), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"dns", &net.DNSError{Err: "no such host", Name: "x"}, true},
		{"timeout", context.DeadlineExceeded, true},
		{"cancelled", fmt.Errorf("post: %w", context.Canceled), false},
		{"other", errors.New("invalid URL"), false},
	} {
		err := status.ClassifyNetError(tc.err)
		if status.IsRetryable(err) != tc.retryable {
			t.Errorf("ClassifyNetError(%s) = %v: retryable %v, want %v", tc.name, err, status.IsRetryable(err), tc.retryable)
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("ClassifyNetError(%s) lost the cause", tc.name)
		}
	}
}

func TestClassifyResponseScrubsEchoedCredentials(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://ci:url-pass@example.org/api?private_token=qtok123", nil)
	req.SetBasicAuth("alice", "hunter22")
	req.Header.Set("Private-Token", "glpat-xyz")
	body := `{"echo": "` + req.Header.Get("Authorization") + ` hunter22 glpat-xyz url-pass qtok123"}`
	resp := &http.Response{StatusCode: 400, Status: "400 Bad Request", Request: req,
		Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}}
	msg := status.ClassifyResponse(resp).Error()
	for _, secret := range []string{"hunter22", "glpat-xyz", "url-pass", "qtok123", "YWxpY2U6aHVudGVyMjI="} {
		if strings.Contains(msg, secret) {
			t.Errorf("%q in %s", secret, msg)
		}
	}
	if !strings.Contains(msg, "<redacted>") {
		t.Errorf("nothing redacted: %s", msg)
	}
}
