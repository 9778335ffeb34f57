package otel

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/heraldci/herald/status"
)

// Options configures a Tracer. Set TracerProvider or Endpoint, not both.
type Options struct {
	// TracerProvider receives the spans: the host's, already set up with
	// its exporters. The Tracer does not shut it down.
	TracerProvider trace.TracerProvider

	// Endpoint is an OTLP/HTTP collector's address. Without a path (or
	// with "/") spans go to its /v1/traces, as with
	// OTEL_EXPORTER_OTLP_ENDPOINT: http://localhost:4318. With a path,
	// that path is used as is. The Tracer then runs its own provider and
	// exporter and shuts them down at Close.
	Endpoint string
	// Headers are sent with every export request to Endpoint: most hosted
	// collectors take their API key in one.
	Headers map[string]status.Secret
	// ServiceName is the service.name of the Tracer's own provider
	// (default "herald").
	ServiceName string

	// Logger receives export failures and New's warning about headers sent
	// over plain http. Default: the logger of the Hub the Tracer is added
	// to (see status.Logging), and slog.Default() until then.
	Logger *slog.Logger
}

// validate checks o, fills in the defaults and returns the export URL
// ("" with a TracerProvider). Every problem is reported.
func (o *Options) validate() (string, error) {
	var errs []error
	var target string
	switch {
	case o.TracerProvider != nil && o.Endpoint != "":
		errs = append(errs, errors.New("otel: both Options.TracerProvider and Options.Endpoint are set: use one"))
	case o.TracerProvider == nil && o.Endpoint == "":
		errs = append(errs, errors.New("otel: no destination: set Options.Endpoint (an OTLP/HTTP collector, e.g. http://localhost:4318) or Options.TracerProvider"))
	case o.Endpoint != "":
		u, err := url.Parse(o.Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("otel: Options.Endpoint %q is not an http(s) URL: want e.g. http://localhost:4318", o.Endpoint))
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, errors.New("otel: Options.Endpoint must be a plain address, without user, query or fragment: put credentials in Options.Headers"))
		default:
			if u.Path == "" || u.Path == "/" {
				u.Path = "/v1/traces"
			}
			target = u.String()
		}
	}
	if o.TracerProvider != nil && (len(o.Headers) > 0 || o.ServiceName != "") {
		errs = append(errs, errors.New("otel: Options.Headers and Options.ServiceName apply to Options.Endpoint only: set them on your TracerProvider's exporter and resource"))
	}
	for name, v := range o.Headers {
		if !validHeaderName(name) {
			errs = append(errs, fmt.Errorf("otel: Options.Headers has an invalid header name %q: use letters, digits and -", name))
		}
		if strings.ContainsAny(v.Reveal(), "\r\n\x00") {
			errs = append(errs, fmt.Errorf("otel: Options.Headers[%q] contains a line break: check how it was read (a trailing newline from a file?)", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	if o.ServiceName == "" {
		o.ServiceName = "herald"
	}
	if u, _ := url.Parse(target); u != nil && u.Scheme == "http" && len(o.Headers) > 0 && !loopback(u.Hostname()) {
		o.Logger.Warn("otel: Options.Endpoint is plain http: the headers travel unencrypted; use https", "endpoint", u.Redacted())
	}
	return target, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// loopback reports whether host never leaves the machine, where plain http
// exposes nothing.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
