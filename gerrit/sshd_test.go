package gerrit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// fakeSSHD is an in-process Gerrit SSH daemon: it authenticates clients by
// public key, splits the exec'd command line with Gerrit's own splitter,
// parses "gerrit review" as Gerrit's option parser would, checks the patch
// set exists, records the review, and answers with Gerrit's exit status and
// stderr.
type fakeSSHD struct {
	t       testing.TB
	ln      net.Listener
	hostKey ssh.Signer
	cfg     *ssh.ServerConfig

	mu         sync.Mutex
	authorized [][]byte            // marshaled client public keys
	patchSets  map[string][]string // "N,M" and commit ids → project
	reviews    []sshReview
	// hook, when set, answers a command instead of the review logic: the
	// fault injection of tests (overload, dropped connections, holding).
	hook func(cmd string, ch ssh.Channel, connDone <-chan struct{}) (handled bool)
	// received gets every command line as it arrives.
	received chan string

	wg    sync.WaitGroup
	conns map[net.Conn]struct{}
}

// sshReview is one review as the fake Gerrit parsed it.
type sshReview struct {
	User    string
	Command string   // the exec request's command line
	Argv    []string // as Gerrit split it
	Project string
	Message string
	Tag     string
	Notify  string
	Labels  map[string]int
	Targets []string
}

func newFakeSSHD(t testing.TB) *fakeSSHD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newFakeSSHDOn(t, ln)
}

// newFakeSSHDOn serves on ln.
func newFakeSSHDOn(t testing.TB, ln net.Listener) *fakeSSHD {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSSHD{
		t: t, ln: ln, hostKey: hostKey,
		patchSets: map[string][]string{},
		received:  make(chan string, 100),
		conns:     map[net.Conn]struct{}{},
	}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, k := range s.authorized {
				if bytes.Equal(k, key.Marshal()) {
					return &ssh.Permissions{Extensions: map[string]string{"user": md.User()}}, nil
				}
			}
			return nil, fmt.Errorf("unknown key for %s", md.User())
		},
		ServerVersion: "SSH-2.0-GerritCodeReview_3.10.0 (APACHE-SSHD-2.12.0)",
	}
	s.cfg.AddHostKey(hostKey)
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops accepting, drops every connection and waits for the
// server's goroutines.
func (s *fakeSSHD) Close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *fakeSSHD) Addr() string { return s.ln.Addr().String() }

func (s *fakeSSHD) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Authorize lets key log in.
func (s *fakeSSHD) Authorize(key ssh.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorized = append(s.authorized, key.Marshal())
}

// AddPatchSet makes change,patchset (and its commit) known in project.
func (s *fakeSSHD) AddPatchSet(project string, change, patchSet int, commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patchSets[fmt.Sprintf("%d,%d", change, patchSet)] = []string{project}
	if commit != "" {
		s.patchSets[commit] = []string{project}
	}
}

func (s *fakeSSHD) SetHook(h func(cmd string, ch ssh.Channel, connDone <-chan struct{}) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// Reviews returns the reviews recorded so far.
func (s *fakeSSHD) Reviews() []sshReview {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sshReview(nil), s.reviews...)
}

func (s *fakeSSHD) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				_ = c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			s.handleConn(c)
		}()
	}
}

func (s *fakeSSHD) handleConn(c net.Conn) {
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return // failed handshakes are the client's to report
	}
	connDone := make(chan struct{})
	s.wg.Add(2)
	go func() { defer s.wg.Done(); ssh.DiscardRequests(reqs) }()
	go func() { defer s.wg.Done(); _ = sc.Wait(); close(connDone) }()
	user := sc.Permissions.Extensions["user"]
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer ch.Close()
			for req := range chReqs {
				if req.Type != "exec" {
					_ = req.Reply(false, nil) // Gerrit offers no shell, pty or env
					continue
				}
				var payload struct{ Command string }
				if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
					_ = req.Reply(false, nil)
					continue
				}
				_ = req.Reply(true, nil)
				s.exec(user, payload.Command, ch, connDone)
				return
			}
		}()
	}
}

func (s *fakeSSHD) exec(user, cmd string, ch ssh.Channel, connDone <-chan struct{}) {
	select {
	case s.received <- cmd:
	default: // nobody is watching
	}
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil && hook(cmd, ch, connDone) {
		return
	}
	code, stderr := s.review(user, cmd)
	if stderr != "" {
		_, _ = ch.Stderr().Write([]byte(stderr))
	}
	exit(ch, code)
}

func (s *fakeSSHD) knownProject(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ps := range s.patchSets {
		if ps[0] == p {
			return true
		}
	}
	return false
}

func exit(ch ssh.Channel, code int) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
}

var (
	sshPatchSetArg = regexp.MustCompile(`^[0-9]+,[0-9]+$`)
	sshCommitArg   = regexp.MustCompile(`^[0-9a-f]{4,64}$`)
)

// review parses and applies a command the way Gerrit 3.x's ReviewCommand
// does for the options Herald uses; anything else fails as it would there.
func (s *fakeSSHD) review(user, cmd string) (code int, stderr string) {
	argv := gerritSplit(cmd)
	if len(argv) < 2 || argv[0] != "gerrit" {
		return 127, fmt.Sprintf("fatal: %s: not found\n", strings.Join(argv[:min(1, len(argv))], ""))
	}
	if argv[1] != "review" {
		return 1, fmt.Sprintf("fatal: gerrit: %s: not found\n", argv[1])
	}
	rv := sshReview{User: user, Command: cmd, Argv: argv, Labels: map[string]int{}}
	args := argv[2:]
	value := func(i int) (string, bool) {
		if i+1 >= len(args) {
			return "", false
		}
		return args[i+1], true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if !sshPatchSetArg.MatchString(a) && !sshCommitArg.MatchString(a) {
				return 1, fmt.Sprintf("fatal: %q is not a valid patch set\n", a)
			}
			rv.Targets = append(rv.Targets, a)
			continue
		}
		v, ok := value(i)
		if !ok {
			return 1, fmt.Sprintf("fatal: Option %q takes an operand\n", a)
		}
		i++
		switch a {
		case "--project", "-p":
			// Gerrit resolves the project while parsing, before the
			// patch sets that follow it.
			if !s.knownProject(v) {
				return 1, fmt.Sprintf("fatal: project %s not found\n", v)
			}
			rv.Project = v
		case "--message", "-m":
			rv.Message = v
		case "--tag", "-t":
			rv.Tag = v
		case "--notify", "-n":
			switch v {
			case "NONE", "OWNER", "OWNER_REVIEWERS", "ALL":
				rv.Notify = v
			default:
				return 1, fmt.Sprintf("fatal: %q is not a valid value for \"--notify\"\n", v)
			}
		case "--label", "-l":
			name, val, ok := strings.Cut(v, "=")
			n, err := strconv.ParseInt(strings.TrimPrefix(val, "+"), 10, 16)
			if !ok || err != nil || name == "" {
				return 1, fmt.Sprintf("fatal: Invalid label %q\n", v)
			}
			rv.Labels[name] = int(n)
		default:
			return 1, fmt.Sprintf("fatal: %q is not a valid option\n", a)
		}
	}
	if len(rv.Targets) == 0 {
		return 1, "fatal: Argument \"{COMMIT | CHANGE,PATCHSET}\" is required\n"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tg := range rv.Targets {
		projects, ok := s.patchSets[tg]
		if !ok || (rv.Project != "" && projects[0] != rv.Project) {
			return 1, fmt.Sprintf("error: %q no such patch set\nfatal: one or more reviews failed; review output above\n", tg)
		}
	}
	s.reviews = append(s.reviews, rv)
	return 0, ""
}

// gerritSplit splits a command line as Gerrit's SSH daemon does
// (CommandFactoryProvider.split): words are separated by spaces and tabs
// only; single quotes take everything literally; double quotes group;
// outside single quotes a backslash takes the next character literally;
// empty words are dropped.
func gerritSplit(line string) []string {
	var words []string
	var w strings.Builder
	inSingle, inDouble := false, false
	rs := []rune(line)
	for i := 0; i < len(rs); {
		c := rs[i]
		i++
		switch c {
		case ' ', '\t':
			if inSingle || inDouble {
				w.WriteRune(c)
			} else if w.Len() > 0 {
				words = append(words, w.String())
				w.Reset()
			}
		case '"':
			if inSingle {
				w.WriteRune(c)
			} else {
				inDouble = !inDouble
			}
		case '\'':
			if inDouble {
				w.WriteRune(c)
			} else {
				inSingle = !inSingle
			}
		case '\\':
			if inSingle || i == len(rs) {
				w.WriteRune(c)
			} else {
				w.WriteRune(rs[i])
				i++
			}
		default:
			w.WriteRune(c)
		}
	}
	if w.Len() > 0 {
		words = append(words, w.String())
	}
	return words
}

// splitPOSIX splits a command line into words as a POSIX shell would,
// quote removal included, and fails on anything a shell would expand or
// treat as an operator outside quotes ($, backticks, globs, ;, &, |, <, >,
// parentheses, braces, ~, #, !, an unquoted newline): a line that passes
// means the same argv to sh as to Gerrit.
func splitPOSIX(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\n':
			return nil, fmt.Errorf("unquoted newline at %d ends the command", i)
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated single quote at %d", i)
			}
			w.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				switch line[j] {
				case '$', '`':
					return nil, fmt.Errorf("expansion %q inside double quotes at %d", line[j], j)
				case '\\':
					if j+1 < len(line) && strings.IndexByte("$`\"\\\n", line[j+1]) >= 0 {
						j++
						if line[j] != '\n' {
							w.WriteByte(line[j])
						}
						continue
					}
				}
				w.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated double quote at %d", i)
			}
			i = j
			inWord = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, errors.New("trailing backslash")
			}
			i++
			if line[i] != '\n' {
				w.WriteByte(line[i])
				inWord = true
			}
		case strings.IndexByte("$`;&|<>()*?[]{}~#!", c) >= 0:
			return nil, fmt.Errorf("unquoted %q at %d would be interpreted by the shell", c, i)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
