package hooks

import (
	"os/exec"
	"strings"
	"testing"
)

func TestUsersFile(t *testing.T) {
	u, err := LoadUsers("testdata/changehook.passwd")
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 5 {
		t.Fatalf("%d users, want 5", u.Len())
	}
	for _, tc := range []struct {
		user, password string
		ok             bool
	}{
		{"buildbot", "s3cret:with:colons", true},
		{"buildbot", "s3cret", false},
		{"blow", "U*U", true},
		{"blow", "U*V", false},
		{"sha", "correct horse", true},
		{"sha", "correct horse ", false},
		{"apr", "battery staple", true},
		{"apr", "battery", false},
		{"windows", "crlf", true},
		{"nobody", "s3cret:with:colons", false},
		{"", "", false},
	} {
		if got := u.Authenticate(tc.user, tc.password); got != tc.ok {
			t.Errorf("Authenticate(%q, %q) = %v, want %v", tc.user, tc.password, got, tc.ok)
		}
	}
}

func TestUsersMalformed(t *testing.T) {
	in := strings.Join([]string{
		"good:pass",
		"no-colon-here",
		":nouser",
		"empty:",
		"good:again",
		"badbcrypt:$2y$05$tooshort",
		"badsha:{SHA}bm90IDIwIGJ5dGVz",
		"badapr:$apr1$salt",
		"badapr2:$apr1$toolongsalt$7L25PvpoDVQM1g6JKsXyI1",
	}, "\n")
	_, err := ParseUsers(strings.NewReader(in))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"line 2: no ':'", "line 3: empty user name", `line 4: user "empty" has an empty password`,
		`line 5: user "good" is listed twice`, "line 6: user \"badbcrypt\": malformed bcrypt hash",
		"line 7: user \"badsha\": malformed {SHA} hash", "line 8: user \"badapr\": malformed $apr1$ hash",
		"line 9: user \"badapr2\": malformed $apr1$ hash",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pass") && strings.Contains(err.Error(), "good:pass") {
		t.Errorf("error shows a password: %v", err)
	}
	if _, err := ParseUsers(strings.NewReader("# only a comment\n\n")); err == nil || !strings.Contains(err.Error(), "lists no user") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := LoadUsers("testdata/missing.passwd"); err == nil {
		t.Error("missing file: no error")
	}
}

// TestAPR1MatchesOpenSSL checks the APR1 implementation against openssl on
// passwords of every length class (the algorithm branches on 16 bytes).
func TestAPR1MatchesOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed; testdata/changehook.passwd still covers APR1")
	}
	for _, pw := range []string{"", "a", "exactly16bytes!!", "a much longer password than sixteen bytes", "ünïcödé"} {
		out, err := exec.Command(openssl, "passwd", "-apr1", "-salt", "Q1w2E3r4", pw).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := apr1(pw, "Q1w2E3r4"), strings.TrimSpace(string(out)); got != want {
			t.Errorf("apr1(%q) = %s, openssl says %s", pw, got, want)
		}
	}
}

func TestAuthFunc(t *testing.T) {
	var a Authenticator = AuthFunc(func(user, pass string) bool { return user == "u" && pass == "p" })
	if !a.Authenticate("u", "p") || a.Authenticate("u", "q") {
		t.Fatal("AuthFunc does not delegate")
	}
}
