package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/heraldci/herald/status"
)

// LookupFunc maps a user name as the VCS or the "owners" property gives it
// ("alice", "Alice <alice@example.org>") to an address (Options.Lookup,
// Buildbot's IEmailLookup). It returns "" when the user has no address (the
// user is then not mailed). An error fails the mail; return
// status.Retryable for transient failures of a directory lookup.
type LookupFunc func(ctx context.Context, user string) (string, error)

// domainAddress is Buildbot's Domain lookup: a bare user name becomes
// user@domain, and anything holding an address is kept as it is.
func domainAddress(user, domain string) string {
	user = strings.TrimSpace(user)
	if user == "" || strings.Contains(user, "@") {
		return user
	}
	return user + "@" + domain
}

// inDomains reports whether addr's domain is one of domains or a subdomain
// of one, case-insensitively.
func inDomains(addr string, domains []string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	host := strings.ToLower(addr[at+1:])
	for _, d := range domains {
		d = strings.ToLower(d)
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// recipients are the addresses of one mail, deduplicated (case-insensitively
// on the address), in a stable order.
type recipients struct {
	To, Cc  []*mail.Address
	seen    map[string]bool
	skipped []string // user names that gave no valid address
	foreign []string // addresses outside the recipient domains, not mailed
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
// there are no interested users, the extra recipients in To. Interested
// users outside the recipient domains are left out.
func (n *Notifier) recipientsFor(ctx context.Context, builds []*status.Build) (*recipients, error) {
	r := &recipients{}
	if !n.o.SkipInterestedUsers {
		var users []status.User
		usersLoaded := false
		for _, b := range builds {
			for _, u := range interestedUsers(b) {
				addr, trusted, err := n.addressOf(ctx, u, &users, &usersLoaded)
				if err != nil {
					return nil, err
				}
				a, perr := parseAddress(addr)
				switch {
				case addr == "" || perr != nil:
					r.skipped = append(r.skipped, u)
				case !trusted && !n.o.AnyRecipientDomain && !inDomains(a.Address, n.domains):
					r.foreign = append(r.foreign, a.Address)
				default:
					r.add(&r.To, a)
				}
			}
		}
	}
	if len(r.foreign) > 0 {
		n.o.Logger.WarnContext(ctx, "mail: not mailing interested users outside the recipient domains (see Options.RecipientDomains)",
			"addresses", r.foreign, "domains", n.domains)
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

// addressOf maps one interested user to an address ("" for none); trusted
// says it comes from History's users, not from the build's data.
func (n *Notifier) addressOf(ctx context.Context, user string, users *[]status.User, loaded *bool) (addr string, trusted bool, err error) {
	switch {
	case n.o.Lookup != nil:
		addr, err := n.o.Lookup(ctx, user)
		if err != nil {
			return "", false, fmt.Errorf("mail: looking up the address of %q: %w", user, err)
		}
		return fixDoubleAt(addr), false, nil
	case n.o.Domain != "":
		return fixDoubleAt(domainAddress(user, n.o.Domain)), false, nil
	}
	if _, email := status.SplitAuthor(user); email != "" {
		return user, false, nil
	}
	if n.o.History == nil {
		return "", false, nil
	}
	if !*loaded {
		us, err := n.o.History.Users(ctx)
		if err != nil && !errors.Is(err, status.ErrUnsupported) {
			return "", false, fmt.Errorf("mail: reading users from History: %w", err)
		}
		*users, *loaded = us, true
	}
	for _, u := range *users {
		if u.Email == "" {
			continue
		}
		if u.Name == user || status.AuthorMatches(user, u.Name) || attributeMatches(u, user) {
			if u.FullName != "" {
				return (&mail.Address{Name: u.FullName, Address: u.Email}).String(), true, nil
			}
			return u.Email, true, nil
		}
	}
	return "", false, nil
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
