package forge

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
)

// ParseBaseURL checks an API address option of target pkg ("gitlab"):
// an http(s) URL without user, query or fragment. It returns the URL, or
// an error that says what to set, giving example as a good value.
func ParseBaseURL(pkg, raw, example string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return nil, fmt.Errorf("%s: Options.BaseURL %q is not an http(s) URL: want e.g. %s", pkg, raw, example)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%s: Options.BaseURL must be a plain address, without user, query or fragment: set the credentials in their own options", pkg)
	}
	return u, nil
}

// CheckSecret returns an error when a credential option holds white
// space, which no forge's tokens or passwords have but a file read
// carelessly does.
func CheckSecret(pkg, field, v string) error {
	if strings.ContainsAny(v, " \t\r\n") {
		return fmt.Errorf("%s: Options.%s contains white space: check how it was read (a trailing newline from a file?)", pkg, field)
	}
	return nil
}

// WarnPlainHTTP warns when credentials are to travel unencrypted to
// another machine: u is plain http and not a loopback address. It is called
// while options are checked, before any Hub could hand its logger over: a
// nil log is slog.Default().
func WarnPlainHTTP(log *slog.Logger, pkg string, u *url.URL) {
	if u.Scheme != "http" {
		return
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	log.Warn(pkg+": Options.BaseURL is plain http: the credentials travel unencrypted; use https", "base_url", u.Redacted())
}
