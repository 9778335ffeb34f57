package gerrit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/heraldci/herald/status"
)

// DefaultSSHPort is the port of Gerrit's SSH daemon.
const DefaultSSHPort = 29418

// SSH configures the "gerrit review" transport. Like OpenSSH, it falls
// back on the user's own setup: with no client key configured it offers the
// keys of a running ssh-agent ($SSH_AUTH_SOCK) and those of
// ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa and ~/.ssh/id_rsa that exist; with no
// KnownHosts or HostKey it verifies the server against ~/.ssh/known_hosts.
// The host key is always verified.
type SSH struct {
	Server   string // Gerrit's host name or address (required)
	Port     int    // default DefaultSSHPort
	Username string // the Gerrit account (required)

	// Client authentication: any of IdentityFile, Key and Agent; none
	// means OpenSSH's defaults (the agent, then ~/.ssh/id_*).
	IdentityFile string        // path of a private key (OpenSSH or PEM format)
	Key          status.Secret // a private key itself, PEM-encoded
	Passphrase   status.Secret // for an encrypted IdentityFile, Key or default key
	Agent        bool          // offer the keys of a running ssh-agent
	AgentSocket  string        // the agent's socket; default $SSH_AUTH_SOCK

	// Server authentication: at most one; none means ~/.ssh/known_hosts.
	KnownHosts string // path of an OpenSSH known_hosts file listing the server
	HostKey    string // the server's public key, "ssh-ed25519 AAAA..." as in known_hosts or .pub files
	// InsecureIgnoreHostKey accepts any host key. It exists for tests
	// against throwaway servers; New logs a warning when it is set.
	InsecureIgnoreHostKey bool
}

// defaultIdentities are the keys OpenSSH tries when none is configured, in
// its order, relative to the home directory.
var defaultIdentities = []string{".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa"}

// Exported errors a caller may branch on with errors.Is. A change, patch set
// or project Gerrit does not know (or the account may not see) is
// status.ErrNotFound.
var (
	// ErrHostKey: the SSH server's key is not the one configured, or the
	// server is not in known_hosts. Never retried.
	ErrHostKey = errors.New("SSH host key not trusted")
	// ErrAuth: Gerrit refused the credentials (SSH key or HTTP password).
	ErrAuth = errors.New("authentication failed")
)

// sshTransport runs one "gerrit review" per review on a fresh connection:
// reviews are rare (one per build set by default), and holding no
// connection means nothing to keep alive, reconnect or leak.
type sshTransport struct {
	addr       string
	user       string
	signers    []ssh.Signer
	agentPath  string // "" when the agent is not used
	hostKey    ssh.HostKeyCallback
	algorithms []string // host key algorithms the configured keys allow
	tag        string
	notify     Notify
}

func newSSHTransport(o *SSH, tag string, notify Notify, log *slog.Logger) (*sshTransport, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("gerrit: "+format, args...)) }
	if o.Server == "" {
		bad("SSH.Server is empty: set Gerrit's host name")
	} else if _, _, err := net.SplitHostPort(o.Server); err == nil || strings.ContainsAny(o.Server, " /@") {
		bad("SSH.Server %q is not a host name: give the host alone (the user goes in SSH.Username, the port in SSH.Port)", o.Server)
	}
	port := o.Port
	if port == 0 {
		port = DefaultSSHPort
	}
	if port < 1 || port > 65535 {
		bad("SSH.Port %d is out of range: use 1-65535 (Gerrit's default is %d)", o.Port, DefaultSSHPort)
	}
	if o.Username == "" {
		bad("SSH.Username is empty: set the Gerrit account that posts reviews")
	}
	t := &sshTransport{
		addr:   net.JoinHostPort(o.Server, strconv.Itoa(port)),
		user:   o.Username,
		tag:    tag,
		notify: notify,
	}
	home, homeErr := os.UserHomeDir()
	explicitKey := o.IdentityFile != "" || !o.Key.IsZero() || o.Agent
	if o.IdentityFile != "" {
		if s, err := readKey(o.IdentityFile, o.Passphrase, "SSH.IdentityFile "+o.IdentityFile); err != nil {
			errs = append(errs, err)
		} else {
			t.signers = append(t.signers, s)
		}
	}
	if !o.Key.IsZero() {
		if s, err := parseKey([]byte(o.Key.Reveal()), o.Passphrase, "SSH.Key"); err != nil {
			errs = append(errs, err)
		} else {
			t.signers = append(t.signers, s)
		}
	}
	if o.Agent {
		t.agentPath = cmp.Or(o.AgentSocket, os.Getenv("SSH_AUTH_SOCK"))
		if t.agentPath == "" {
			bad("SSH.Agent is set but SSH_AUTH_SOCK is empty: start ssh-agent or set SSH.AgentSocket")
		}
	}
	if !explicitKey {
		// OpenSSH's defaults: the agent if one runs, and the usual keys.
		t.agentPath = cmp.Or(o.AgentSocket, os.Getenv("SSH_AUTH_SOCK"))
		var tried []string
		for _, rel := range defaultIdentities {
			if homeErr != nil {
				break
			}
			path := filepath.Join(home, rel)
			tried = append(tried, path)
			s, err := readKey(path, o.Passphrase, path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				// OpenSSH would go on to the next key too.
				log.Warn("gerrit: skipping a default SSH key", "err", err)
			default:
				t.signers = append(t.signers, s)
			}
		}
		if len(t.signers) == 0 && t.agentPath == "" {
			if len(tried) == 0 {
				tried = []string{"~/.ssh/id_* (no home directory)"}
			}
			bad("SSH has no client key: no ssh-agent ($SSH_AUTH_SOCK is empty) and no usable key among %s: set SSH.IdentityFile, SSH.Key or SSH.Agent", strings.Join(tried, ", "))
		}
	}

	set := 0
	for _, b := range []bool{o.KnownHosts != "", o.HostKey != "", o.InsecureIgnoreHostKey} {
		if b {
			set++
		}
	}
	switch {
	case set > 1:
		bad("set only one of SSH.KnownHosts, SSH.HostKey and SSH.InsecureIgnoreHostKey")
	case o.HostKey != "":
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(o.HostKey))
		if err != nil {
			bad("SSH.HostKey is not a public key (want the \"TYPE BASE64\" line of a .pub or known_hosts file): %v", err)
			break
		}
		t.hostKey = pinnedCallback(key)
		t.algorithms = algorithmsFor(key.Type())
	case o.InsecureIgnoreHostKey:
		log.Warn("gerrit: SSH host key verification is disabled (SSH.InsecureIgnoreHostKey): anyone on the path can pose as Gerrit; use it only in tests", "server", t.addr)
		t.hostKey = ssh.InsecureIgnoreHostKey() //nolint:gosec // asked for explicitly, and logged
	default:
		file, what := o.KnownHosts, "SSH.KnownHosts"
		if file == "" {
			if homeErr != nil {
				bad("SSH has no way to verify the server: set SSH.KnownHosts or SSH.HostKey (no home directory for ~/.ssh/known_hosts: %v)", homeErr)
				break
			}
			file = filepath.Join(home, ".ssh", "known_hosts")
			what = "SSH.KnownHosts is empty and the default " + file
		}
		cb, err := knownhosts.New(file)
		if err != nil {
			bad("%s: %v: set SSH.KnownHosts (a known_hosts file listing the server) or SSH.HostKey (its public key)", what, unwrapPath(err))
			break
		}
		t.hostKey = knownHostsCallback(cb, file)
		t.algorithms = knownAlgorithms(cb, t.addr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// unwrapPath drops the path a *fs.PathError repeats, for messages that name
// the file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readKey reads and parses a private key file.
func readKey(path string, passphrase status.Secret, what string) (ssh.Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gerrit: %s: %w", strings.SplitN(what, " ", 2)[0], err)
	}
	return parseKey(pem, passphrase, what)
}

// parseKey parses a private key, decrypting it with passphrase if needed.
func parseKey(pem []byte, passphrase status.Secret, what string) (ssh.Signer, error) {
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && passphrase.IsZero():
		return nil, fmt.Errorf("gerrit: %s is encrypted: set SSH.Passphrase", what)
	case errors.As(err, &missing):
		s, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("gerrit: %s: cannot decrypt with SSH.Passphrase: %w", what, err)
		}
	case err != nil:
		return nil, fmt.Errorf("gerrit: %s is not a private key: %w", what, err)
	}
	return s, nil
}

// knownHostsCallback turns knownhosts' terse errors into ones that say what
// happened and what to do, wrapping ErrHostKey.
func knownHostsCallback(cb ssh.HostKeyCallback, file string) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(host, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &re):
			return fmt.Errorf("%w: %s presented key %s, revoked in %s", ErrHostKey, host, ssh.FingerprintSHA256(key), file)
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return fmt.Errorf("%w: %s is not in %s (it presented %s %s): check the fingerprint with Gerrit's admin, then add the host, e.g. ssh-keyscan -p PORT HOST >> %s",
				ErrHostKey, host, file, key.Type(), ssh.FingerprintSHA256(key), file)
		case errors.As(err, &ke):
			return fmt.Errorf("%w: %s presented %s %s, which does not match %s line %d: the server's key changed or someone is intercepting the connection; if the change is expected, update %s",
				ErrHostKey, host, key.Type(), ssh.FingerprintSHA256(key), ke.Want[0].Filename, ke.Want[0].Line, file)
		}
		return fmt.Errorf("%w: %v", ErrHostKey, err)
	}
}

func pinnedCallback(want ssh.PublicKey) ssh.HostKeyCallback {
	return func(host string, _ net.Addr, key ssh.PublicKey) error {
		if bytes.Equal(key.Marshal(), want.Marshal()) {
			return nil
		}
		return fmt.Errorf("%w: %s presented %s %s, not the key in SSH.HostKey (%s %s): the server's key changed or someone is intercepting the connection",
			ErrHostKey, host, key.Type(), ssh.FingerprintSHA256(key), want.Type(), ssh.FingerprintSHA256(want))
	}
}

// knownAlgorithms asks the known_hosts callback which keys it holds for addr
// (by presenting a key it cannot know), so the client negotiates a host key
// type the file can verify rather than failing on a server that also has
// another type. nil when the host is not listed: the handshake then fails
// with the "not in known_hosts" error.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := cb(addr, &net.TCPAddr{}, probe); !errors.As(err, &ke) {
		return nil
	}
	var algs []string
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
	}
	return algs
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

func (t *sshTransport) String() string { return "ssh://" + t.user + "@" + t.addr }

// post runs "gerrit review" for rv on tg. The connection is closed when ctx
// is done, which ends the dial, the handshake or the command.
func (t *sshTransport) post(ctx context.Context, tg target, rv Review) error {
	cmd := reviewCommand(tg, rv, t.tag, string(t.notify))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return status.ClassifyNetError(fmt.Errorf("connecting to %s: %w", t.addr, err))
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	signers := t.signers
	if t.agentPath != "" {
		var ac net.Conn
		ac, err = d.DialContext(ctx, "unix", t.agentPath)
		if err != nil {
			_ = conn.Close()
			return fmt.Errorf("connecting to ssh-agent at %s: %w", t.agentPath, err)
		}
		defer ac.Close()
		agentSigners, err := agent.NewClient(ac).Signers()
		if err != nil {
			_ = conn.Close()
			return fmt.Errorf("listing ssh-agent keys: %w", err)
		}
		signers = append(signers[:len(signers):len(signers)], agentSigners...)
	}
	cfg := &ssh.ClientConfig{
		User:              t.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback:   t.hostKey,
		HostKeyAlgorithms: t.algorithms,
		ClientVersion:     "SSH-2.0-Herald",
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, t.addr, cfg)
	if err != nil {
		_ = conn.Close()
		return t.handshakeError(err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return status.ClassifyNetError(fmt.Errorf("opening an SSH session on %s: %w", t.addr, err))
	}
	defer sess.Close()
	var stdout, stderr boundedBuffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	return commandError(sess.Run(cmd), stderr.String())
}

// handshakeError classifies a failed SSH handshake: host key and
// authentication failures are permanent and say so; anything else (a reset,
// an EOF from a server at its connection limit) may pass.
func (t *sshTransport) handshakeError(err error) error {
	switch {
	case errors.Is(err, ErrHostKey):
		return err
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%w: Gerrit at %s refused the SSH key of %q: check SSH.Username and that the key's public half is in the account's SSH keys (%v)",
			ErrAuth, t.addr, t.user, err)
	}
	return status.ClassifyNetError(fmt.Errorf("SSH handshake with %s: %w", t.addr, err))
}

// commandError classifies the end of "gerrit review". Gerrit exits 1 with
// "fatal: ..." or "error: ..." on stderr for every refusal (bad option, no
// such change, label not permitted): those are permanent, with stderr in
// the message. A missing exit status (the connection dropped) and Gerrit's
// own overload messages may pass.
func commandError(err error, stderr string) error {
	if err == nil {
		return nil
	}
	stderr = strings.TrimSpace(stderr)
	var exit *ssh.ExitError
	if !errors.As(err, &exit) {
		return status.Retryable(fmt.Errorf("gerrit review ended without an exit status: %w", err), 0)
	}
	msg := fmt.Errorf("gerrit review exited with status %d: %s", exit.ExitStatus(), stderr)
	lower := strings.ToLower(stderr)
	switch {
	case strings.Contains(lower, "too many concurrent connections"),
		strings.Contains(lower, "server is shutting down"),
		strings.Contains(lower, "temporarily unavailable"):
		return status.Retryable(msg, 0)
	case strings.Contains(lower, "no such change"), strings.Contains(lower, "no such patch set"),
		strings.Contains(lower, "project") && strings.Contains(lower, "not found"):
		return fmt.Errorf("%w: %w", status.ErrNotFound, msg)
	}
	return msg
}

// boundedBuffer keeps the first 4 KiB written to it: enough for Gerrit's
// messages, bounded against a chatty server.
type boundedBuffer struct{ b []byte }

const maxOutput = 4 << 10

func (w *boundedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (w *boundedBuffer) String() string { return strings.ToValidUTF8(string(w.b), "\uFFFD") }
