package auth

import (
	"bufio"
	"context"
	"crypto/des"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

type vector struct{ tool, password, hash string }

// vectors reads testdata/vectors.txt: hashes made by openssl passwd,
// Apache's htpasswd and glibc's crypt(3) (through perl).
func vectors(t testing.TB) []vector {
	f, err := os.Open("testdata/vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		p := strings.Split(sc.Text(), "\t")
		require.Len(t, p, 3, sc.Text())
		vs = append(vs, vector{p[0], p[1], p[2]})
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, vs)
	return vs
}

func TestHashesFromOtherTools(t *testing.T) {
	for _, v := range vectors(t) {
		h, err := parseHash(v.hash)
		require.NoError(t, err, "%s: %s", v.tool, v.hash)
		assert.True(t, h.check(v.password), "%s %q does not match %s", v.tool, v.password, v.hash)
		assert.False(t, h.check("x"+v.password), "%s: a wrong password matches %s", v.tool, v.hash)
		assert.False(t, h.check(""), "%s: the empty password matches", v.tool)
	}
}

// Buildbot 0.8.12's own test file for HTPasswdAuth.
const buildbotHtpasswd = `desbuildmaster:yifux5rkzvI5w
desbuildslave:W8SPURMnCs7Tc
desbuildbot:IzclhyfHAq6Oc
md5buildmaster:$apr1$pSepI8Wp$eJZcfhnpENrRlUn28wak50
md5buildslave:$apr1$dtX6FDei$vFB5BlnR9bjQisy7v3ZaC0
md5buildbot:$apr1$UcfsHmrF$i9fYa4OsPI3AK8UBbN3ju1
shabuildmaster:{SHA}vpAKSO3uPt6z8KL6cqf5W5Sredk=
shabuildslave:{SHA}sNA10GbdONwGJ+a8VGRNtEyWd9I=
shabuildbot:{SHA}TwEDa5Q31ZhI4GLmIbE1VrrAkpk=
`

func TestBuildbotHtpasswdFile(t *testing.T) {
	h, err := ParseHtpasswd(strings.NewReader(buildbotHtpasswd))
	require.NoError(t, err)
	ctx := context.Background()
	for _, algo := range []string{"des", "md5", "sha"} {
		for _, key := range []string{"buildmaster", "buildslave", "buildbot"} {
			assert.NoError(t, h.Authenticate(ctx, algo+key, key), algo+key)
			assert.ErrorIs(t, h.Authenticate(ctx, algo+key, ""), ErrDenied, "%s without password", algo+key)
		}
	}
	assert.ErrorIs(t, h.Authenticate(ctx, "foo", "bar"), ErrDenied)
}

// DES crypt with salt ".." perturbs nothing: it is 25 plain DES
// encryptions of zero, which crypto/des computes independently.
func TestDESCryptIsDES(t *testing.T) {
	for _, pw := range []string{"", "a", "password", "12345678", "longer than eight", "\xff\x80\x01"} {
		assert.Equal(t, desReference(pw), desCrypt(pw, ".."), "password %q", pw)
	}
}

func desReference(pw string) string {
	key := make([]byte, 8)
	for i := 0; i < len(pw) && i < 8; i++ {
		key[i] = pw[i] << 1
	}
	c, _ := des.NewCipher(key)
	b := make([]byte, 8)
	for range 25 {
		c.Encrypt(b, b)
	}
	out := []byte("..")
	var acc uint64
	for _, x := range b {
		acc = acc<<8 | uint64(x)
	}
	for i := range 11 {
		shift := 64 - 6*(i+1) // the 66th and 65th bits are zero
		var v uint64
		if shift >= 0 {
			v = acc >> shift & 63
		} else {
			v = acc << -shift & 63
		}
		out = append(out, crypt64[v])
	}
	return string(out)
}

func FuzzDESCrypt(f *testing.F) {
	f.Add("password")
	f.Add("")
	f.Fuzz(func(t *testing.T, pw string) {
		if got, want := desCrypt(pw, ".."), desReference(pw); got != want {
			t.Fatalf("desCrypt(%q) = %s, crypto/des gives %s", pw, got, want)
		}
	})
}

func TestParseErrorsNameTheLine(t *testing.T) {
	in := "# users\nalice:$2y$04$YrwCxY13aHiDy6uG0w25XulY21O0PMOuXsJr.krwbV/fxJbzdvu3S\n" +
		"bob:plaintextpassword\n" + // line 3: not a known format
		"carol\n" + // 4: no colon
		"dave:$apr1$123456789$H15bI9vWYA/1i2Ftn2za1/\n" + // 5: salt too long
		"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n" + // 6: twice
		":{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n" + // 7
		"erin:$6$rounds=10$salt$x\n" // 8
	_, err := ParseHtpasswd(strings.NewReader(in))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"line 3: user \"bob\"", "re-create the entry with htpasswd -B", "line 4:", "line 5: user \"dave\"", "longer than 8",
		"line 6: user \"alice\" is listed twice", "line 7: empty user name", "line 8: user \"erin\""} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "plaintextpassword", "a password leaked into the error")
	assert.NotContains(t, msg, "line 2")

	_, err = ParseHtpasswd(strings.NewReader("# nothing\n"))
	assert.ErrorContains(t, err, "no user")
}

func TestOpenHtpasswdReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	require.NoError(t, os.WriteFile(path, []byte("alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"), 0o600)) // "password"
	h, err := OpenHtpasswd(path)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, h.Authenticate(ctx, "alice", "password"))
	require.NoError(t, os.WriteFile(path, []byte("bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nalice:8EZaF5traZczw\n"), 0o600))
	require.NoError(t, os.Chtimes(path, time.Now().Add(time.Hour), time.Now().Add(time.Hour)))
	assert.NoError(t, h.Authenticate(ctx, "bob", "password"))
	assert.NoError(t, h.Authenticate(ctx, "alice", "password"), "DES entry after reload")
	assert.Equal(t, 2, h.Len())
	assert.NotContains(t, h.String(), "W6ph")

	_, err = OpenHtpasswd(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err)
}

func TestCleartext(t *testing.T) {
	h, err := ParseCleartext(strings.NewReader("ci:hunter2\n# c\nbot:8EZaF5traZczw\n"))
	require.NoError(t, err)
	ctx := context.Background()
	assert.NoError(t, h.Authenticate(ctx, "ci", "hunter2"))
	assert.NoError(t, h.Authenticate(ctx, "bot", "8EZaF5traZczw"), "cleartext is never read as a hash")
	assert.ErrorIs(t, h.Authenticate(ctx, "bot", "password"), ErrDenied)
	assert.ErrorIs(t, h.Authenticate(ctx, "nobody", "hunter2"), ErrDenied)
}

// An unknown user is checked against the most expensive entry, so the time
// a refusal takes does not tell whether the user exists.
func TestUnknownUserCostsTheMostExpensiveEntry(t *testing.T) {
	h, err := ParseHtpasswd(strings.NewReader(
		"a:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n" +
			"b:$2y$05$/IW9qGXGeo6LJNQtXvh3DuH9u4NyLVj4Q3ZumX4Kt.IgXnfiK1gR2\n" +
			"c:$2y$04$YrwCxY13aHiDy6uG0w25XulY21O0PMOuXsJr.krwbV/fxJbzdvu3S\n" +
			"d:8EZaF5traZczw\n"))
	require.NoError(t, err)
	assert.Equal(t, "bcrypt", h.table.decoy.scheme)
	assert.Equal(t, h.table.users["b"], h.table.decoy, "the cost-5 entry")
	assert.ErrorIs(t, h.Authenticate(context.Background(), "zed", "password"), ErrDenied,
		"the decoy's own password does not let an unknown user in")
}

func TestUsers(t *testing.T) {
	a := Users(map[string]status.Secret{"bob": "secret-pass", "empty": ""})
	ctx := context.Background()
	assert.NoError(t, a.Authenticate(ctx, "bob", "secret-pass"))
	assert.ErrorIs(t, a.Authenticate(ctx, "bob", "secret-pas"), ErrDenied)
	assert.ErrorIs(t, a.Authenticate(ctx, "empty", ""), ErrDenied)
	assert.ErrorIs(t, a.Authenticate(ctx, "", ""), ErrDenied)
	assert.ErrorIs(t, a.Authenticate(ctx, "nobody", "secret-pass"), ErrDenied)
}

func TestUsersDB(t *testing.T) {
	h := statustest.NewHistory()
	h.AddUser(status.User{Name: "md5", Attributes: map[string]string{
		// Buildbot 0.8: salt + md5(password + salt)
		PasswordAttribute: "0011223344556677" + md5hex("hunter2"+"0011223344556677")}})
	h.AddUser(status.User{Name: "sha", Attributes: map[string]string{
		PasswordAttribute: "8899aabbccddeeff" + sha1hex("hunter2"+"8899aabbccddeeff")}})
	h.AddUser(status.User{Name: "ht", Attributes: map[string]string{PasswordAttribute: "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}})
	h.AddUser(status.User{Name: "bad", Attributes: map[string]string{PasswordAttribute: "hunter2"}})
	h.AddUser(status.User{Name: "none"})
	a := UsersDB(h)
	ctx := context.Background()
	assert.NoError(t, a.Authenticate(ctx, "md5", "hunter2"))
	assert.NoError(t, a.Authenticate(ctx, "sha", "hunter2"))
	assert.NoError(t, a.Authenticate(ctx, "ht", "password"))
	assert.ErrorIs(t, a.Authenticate(ctx, "sha", "hunter3"), ErrDenied)
	assert.ErrorIs(t, a.Authenticate(ctx, "none", ""), ErrDenied)
	assert.ErrorIs(t, a.Authenticate(ctx, "ghost", "hunter2"), ErrDenied)
	err := a.Authenticate(ctx, "bad", "hunter2")
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrDenied, "a broken entry is an error, not a wrong password")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestThrottleCountsBeforeChecking(t *testing.T) {
	th := NewThrottle(3, time.Minute)
	// A slow check: every guess is in flight at once.
	release := make(chan struct{})
	var started sync.WaitGroup
	slow := Func(func(context.Context, string, string) error {
		started.Done()
		<-release
		return ErrDenied
	})
	const guesses = 20
	errs := make(chan error, guesses)
	started.Add(3)
	for range guesses {
		go func() { errs <- th.Authenticate(context.Background(), slow, "198.51.100.7", "root", "guess") }()
	}
	started.Wait() // 3 reached the check; the others must be refused at once
	throttled := 0
	for range guesses - 3 {
		err := <-errs
		require.ErrorIs(t, err, ErrThrottled)
		throttled++
	}
	close(release)
	for range 3 {
		assert.ErrorIs(t, <-errs, ErrDenied)
	}
	assert.Equal(t, guesses-3, throttled)
}

func TestThrottleSuccessKeepsOthersFailures(t *testing.T) {
	th := NewThrottle(3, time.Minute)
	a := Users(map[string]status.Secret{"alice": "pw"})
	ctx := context.Background()
	const addr = "203.0.113.9"
	require.ErrorIs(t, th.Authenticate(ctx, a, addr, "root", "x"), ErrDenied)
	require.ErrorIs(t, th.Authenticate(ctx, a, addr, "root", "y"), ErrDenied)
	for range 5 { // alice logging in often does not reset root's guesses
		require.NoError(t, th.Authenticate(ctx, a, addr, "alice", "pw"))
	}
	require.ErrorIs(t, th.Authenticate(ctx, a, addr, "root", "z"), ErrDenied)
	assert.ErrorIs(t, th.Authenticate(ctx, a, addr, "root", "pw"), ErrThrottled)
	assert.ErrorIs(t, th.Authenticate(ctx, a, addr, "alice", "pw"), ErrThrottled, "the address is throttled, whoever it claims to be")
	assert.NoError(t, th.Authenticate(ctx, a, "203.0.113.10", "alice", "pw"), "other addresses are not")

	now := time.Now()
	th.now = func() time.Time { return now.Add(time.Minute) }
	assert.NoError(t, th.Authenticate(ctx, a, addr, "alice", "pw"), "the window ends")
}

func TestThrottleTableIsBounded(t *testing.T) {
	th := NewThrottle(1, time.Hour)
	deny := Func(func(context.Context, string, string) error { return ErrDenied })
	for i := range throttleTable + 50 {
		_ = th.Authenticate(context.Background(), deny, "addr"+strings.Repeat("x", i%7)+string(rune(i)), "u", "p")
	}
	assert.LessOrEqual(t, len(th.addrs), throttleTable)
}

func TestClientAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:5555":             "192.0.2.1",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"@":                          "@",
	} {
		assert.Equal(t, want, ClientAddr(&http.Request{RemoteAddr: in}), in)
	}
}

func FuzzParseHtpasswd(f *testing.F) {
	f.Add([]byte(buildbotHtpasswd))
	f.Add([]byte("a:$5$rounds=1000$saltsalt$azOwbpkvuuBKkE82dQPwTsQE8JyT9Fflpr9aKid3aT9\n"))
	f.Add([]byte("a:$2y$04$YrwCxY13aHiDy6uG0w25XulY21O0PMOuXsJr.krwbV/fxJbzdvu3S\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHtpasswd(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for user := range h.table.users {
			// Any parsed entry can be checked without panicking, and the
			// empty password never passes a parsed hash by accident of
			// parsing (only when the hash is really of "").
			err := h.Authenticate(context.Background(), user, "\x00not the password")
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Fatalf("user %q: %v", user, err)
			}
		}
	})
}
