package irc

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestConformance(t *testing.T) {
	d := startIRCd(t)
	var n atomic.Int32
	statustest.Conformance(t, func() status.Reporter {
		i := n.Add(1)
		b, err := New(Options{Host: "127.0.0.1", Port: d.port, Nick: fmt.Sprintf("conf%d", i),
			Channels: []Channel{{Name: fmt.Sprintf("#conf%d", i)}}, PMToNicks: []string{"somebody"},
			NotifyEvents: []string{"started", "finished", "failure", "successToFailure"}, History: statustest.NewHistory(),
			LostDelay: 100 * time.Millisecond, FailedDelay: 100 * time.Millisecond, Interval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// TestSecretsStayHidden checks String, %v and %+v of the bot and its
// options, and New's errors, for every secret the options hold.
func TestSecretsStayHidden(t *testing.T) {
	secrets := []string{"nickserv-pw", "chan-key", "sasl-pw"}
	o := Options{Host: "irc.example.org", Nick: "herald", Password: "nickserv-pw", Channels: []Channel{{Name: "#c", Key: "chan-key"}}}
	b := offlineBot(t, o)
	withSASL := o
	withSASL.Password, withSASL.SASL = "", &SASL{User: "u", Password: "sasl-pw"}
	bad := withSASL
	bad.Password = "nickserv-pw" // both: an error that must not print them
	bad.Channels = []Channel{{Name: "#c", Key: "chan-key has spaces"}}
	_, err := New(bad)
	if err == nil {
		t.Fatal("New accepted Password and SASL together")
	}
	for _, s := range []string{b.String(), fmt.Sprint(b), fmt.Sprintf("%+v %#v", o, o), fmt.Sprintf("%+v %v", withSASL, *withSASL.SASL), err.Error()} {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows the secret %q", s, secret)
			}
		}
	}
}
