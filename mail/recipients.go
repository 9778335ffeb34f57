package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/heraldci/herald/status"
)

// EmailLookup maps a user name as the VCS or the "owners" property gives it
// ("alice", "Alice <alice@example.org>") to an address. Buildbot's
// IEmailLookup.
type EmailLookup interface {
	// Address returns the address of user, or "" when it has none (the user
	// is then not mailed). An error fails the mail; return
	// status.Retryable for transient failures of a directory lookup.
	Address(ctx context.Context, user string) (string, error)
}

// LookupFunc adapts a function to EmailLookup.
type LookupFunc func(ctx context.Context, user string) (string, error)

// Address calls f(ctx, user).
func (f LookupFunc) Address(ctx context.Context, user string) (string, error) { return f(ctx, user) }

// Domain is the common EmailLookup: a bare user name becomes user@domain,
// and anything holding an address ("Alice <alice@x.org>", "bob@y.org") is
// kept as it is. Buildbot's Domain and its lookup="example.org" shortcut.
type Domain string

// Address implements EmailLookup.
func (d Domain) Address(_ context.Context, user string) (string, error) {
	user = strings.TrimSpace(user)
	if user == "" {
		return "", nil
	}
	if strings.Contains(user, "@") {
		return user, nil
	}
	return user + "@" + string(d), nil
}

func (d Domain) validate() error {
	switch {
	case d == "":
		return errors.New("mail: Options.Lookup is an empty Domain: name the mail domain (\"example.org\")")
	case strings.ContainsAny(string(d), "@ <>\r\n"):
		return fmt.Errorf("mail: Options.Lookup Domain(%q) must be a bare domain such as \"example.org\"", string(d))
	}
	return nil
}

// recipients are the addresses of one mail, deduplicated (case-insensitively
// on the address), in a stable order.
type recipients struct {
	To, Cc  []*mail.Address
	seen    map[string]bool
	skipped []string // user names that gave no valid address
}

func (r *recipients) add(list *[]*mail.Address, a *mail.Address) {
	key := strings.ToLower(a.Address)
	if r.seen[key] {
		return
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[key] = true
	*list = append(*list, a)
}

// all lists the envelope recipients.
func (r *recipients) all() []string {
	out := make([]string, 0, len(r.To)+len(r.Cc))
	for _, a := range append(append([]*mail.Address(nil), r.To...), r.Cc...) {
		out = append(out, a.Address)
	}
	return out
}

// interestedUsers returns the blamelist and the "owners" property of b:
// Buildbot's interested users.
func interestedUsers(b *status.Build) []string {
	users := append([]string(nil), b.Blamelist...)
	switch v := b.Property("owners").(type) {
	case string:
		users = append(users, v)
	case []string:
		users = append(users, v...)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				users = append(users, s)
			}
		}
	}
	if o, ok := b.Property("owner").(string); ok {
		users = append(users, o)
	}
	return users
}

// recipientsFor computes the recipients of a mail about builds, as Buildbot
// does: interested users in To with the extra recipients in Cc, or, when
// there are no interested users, the extra recipients in To.
func (n *Notifier) recipientsFor(ctx context.Context, builds []*status.Build) (*recipients, error) {
	r := &recipients{}
	if !n.o.SkipInterestedUsers {
		var users []status.User
		usersLoaded := false
		for _, b := range builds {
			for _, u := range interestedUsers(b) {
				addr, err := n.addressOf(ctx, u, &users, &usersLoaded)
				if err != nil {
					return nil, err
				}
				a, perr := parseAddress(addr)
				if addr == "" || perr != nil {
					r.skipped = append(r.skipped, u)
					continue
				}
				r.add(&r.To, a)
			}
		}
	}
	list := &r.To
	if len(r.To) > 0 {
		list = &r.Cc
	}
	for _, e := range n.extra {
		r.add(list, e)
	}
	return r, nil
}

// addressOf maps one interested user to an address ("" for none).
func (n *Notifier) addressOf(ctx context.Context, user string, users *[]status.User, loaded *bool) (string, error) {
	if n.o.Lookup != nil {
		addr, err := n.o.Lookup.Address(ctx, user)
		if err != nil {
			return "", fmt.Errorf("mail: looking up the address of %q: %w", user, err)
		}
		return fixDoubleAt(addr), nil
	}
	if _, email := status.SplitAuthor(user); email != "" {
		return user, nil
	}
	if n.o.History == nil {
		return "", nil
	}
	if !*loaded {
		us, err := n.o.History.Users(ctx)
		if err != nil && !errors.Is(err, status.ErrUnsupported) {
			return "", fmt.Errorf("mail: reading users from History: %w", err)
		}
		*users, *loaded = us, true
	}
	for _, u := range *users {
		if u.Email == "" {
			continue
		}
		if u.Name == user || status.AuthorMatches(user, u.Name) || attributeMatches(u, user) {
			if u.FullName != "" {
				return (&mail.Address{Name: u.FullName, Address: u.Email}).String(), nil
			}
			return u.Email, nil
		}
	}
	return "", nil
}

func attributeMatches(u status.User, who string) bool {
	for _, v := range u.Attributes {
		if v == who || status.AuthorMatches(v, who) {
			return true
		}
	}
	return false
}

// fixDoubleAt repairs what a Domain lookup makes of some Git authors,
// "User <user@foo.com>@foo.com", as Buildbot did: cut the last "@...".
func fixDoubleAt(addr string) string {
	if strings.Count(addr, "@") > 1 && !strings.HasSuffix(addr, ">") {
		return addr[:strings.LastIndex(addr, "@")]
	}
	return addr
}
