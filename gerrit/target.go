package gerrit

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/heraldci/herald/status"
)

// Properties names the build properties that say which Gerrit change and
// patch set a build is about. Each field lists names tried in order; a nil
// field takes the default, which matches what Buildbot's Gerrit change
// sources set. Change properties of the build's source stamps are read too,
// after the build's own.
type Properties struct {
	// Change is the change number. Default: event.change.number,
	// gerrit_change_number.
	Change []string
	// PatchSet is the patch set number. Default: event.patchSet.number,
	// gerrit_patchset_number.
	PatchSet []string
	// Project is the Gerrit project. Default: event.change.project,
	// gerrit_project; then the source stamp's project.
	Project []string
	// Revision is the patch set's commit, used when no patch set number is
	// known. Default: event.patchSet.revision, gerrit_patchset_revision,
	// got_revision; then the source stamp's revision.
	Revision []string
	// Branch marks a build as coming from Gerrit when it has no change
	// number (Buildbot 0.8.12 looked for gerrit_branch and then reviewed
	// the commit). Default: event.change.branch, gerrit_branch.
	Branch []string
}

func (p Properties) withDefaults() Properties {
	def := func(names []string, d ...string) []string {
		if names == nil {
			return d
		}
		return slices.Clone(names)
	}
	return Properties{
		Change:   def(p.Change, "event.change.number", "gerrit_change_number"),
		PatchSet: def(p.PatchSet, "event.patchSet.number", "gerrit_patchset_number"),
		Project:  def(p.Project, "event.change.project", "gerrit_project"),
		Revision: def(p.Revision, "event.patchSet.revision", "gerrit_patchset_revision", "got_revision"),
		Branch:   def(p.Branch, "event.change.branch", "gerrit_branch"),
	}
}

// target is the patch set a review goes to.
type target struct {
	Project  string // "" when unknown (SSH then omits --project)
	Change   int    // 0 when unknown
	PatchSet int    // 0 when unknown
	Revision string // lower-case hex commit, when PatchSet is 0
}

// sshRef is the patch set argument of "gerrit review": CHANGE,PATCHSET or
// the commit.
func (t target) sshRef() string {
	if t.Change > 0 && t.PatchSet > 0 {
		return strconv.Itoa(t.Change) + "," + strconv.Itoa(t.PatchSet)
	}
	return t.Revision
}

// restIDs are the change and revision identifiers of the REST path. The
// change is PROJECT~NUMBER when the project is known (unambiguous across
// projects, as Gerrit recommends), the bare number otherwise.
func (t target) restIDs() (change, revision string, err error) {
	if t.Change == 0 {
		return "", "", fmt.Errorf("build has commit %s but no change number: the REST transport needs one; set the change number property (Options.Properties.Change) or use SSH", t.Revision)
	}
	change = strconv.Itoa(t.Change)
	if t.Project != "" {
		change = url.PathEscape(t.Project) + "~" + change
	}
	if t.PatchSet > 0 {
		return change, strconv.Itoa(t.PatchSet), nil
	}
	return change, t.Revision, nil
}

func (t target) String() string {
	if t.Project != "" {
		return t.Project + " " + t.sshRef()
	}
	return t.sshRef()
}

// propertySource looks up properties in order: the build's (or build set's)
// own, then those of the changes in its source stamps.
type propertySource struct {
	props   []map[string]any
	sources []status.SourceStamp
}

func buildProperties(b *status.Build) propertySource {
	ps := propertySource{props: []map[string]any{b.Properties}, sources: b.Sources}
	for _, c := range b.Changes() {
		ps.props = append(ps.props, c.Properties)
	}
	return ps
}

func buildSetProperties(bs *status.BuildSet) propertySource {
	ps := propertySource{props: []map[string]any{bs.Properties}, sources: bs.Sources}
	for _, s := range bs.Sources {
		for _, c := range s.Changes {
			ps.props = append(ps.props, c.Properties)
		}
	}
	return ps
}

// lookup returns the first of names that is set, as text, and its name.
func (ps propertySource) lookup(names []string) (value, name string) {
	for _, n := range names {
		for _, m := range ps.props {
			if v, ok := m[n]; ok {
				if s, ok := propertyText(v); ok && s != "" {
					return s, n
				}
			}
		}
	}
	return "", ""
}

// propertyText renders a JSON-compatible property value as text: strings
// and whole numbers (int kinds, float64 from JSON, json.Number).
func propertyText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v), true
	case int:
		return strconv.Itoa(v), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10), true
		}
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// resolve finds the patch set a build is about. ok is false when the
// properties carry no Gerrit change (the build is not Gerrit's and is
// skipped); err reports Gerrit properties with values that cannot be right,
// naming the property.
func (p Properties) resolve(ps propertySource) (t target, ok bool, err error) {
	change, changeName := ps.lookup(p.Change)
	branch, _ := ps.lookup(p.Branch)
	if change == "" && branch == "" {
		return target{}, false, nil
	}
	if change != "" {
		if t.Change, err = positive(change); err != nil {
			return target{}, false, fmt.Errorf("gerrit: build property %s = %q is not a change number: %w", changeName, change, err)
		}
	}
	if ps, name := ps.lookup(p.PatchSet); ps != "" && t.Change > 0 {
		if t.PatchSet, err = positive(ps); err != nil {
			return target{}, false, fmt.Errorf("gerrit: build property %s = %q is not a patch set number: %w", name, ps, err)
		}
	}
	project, projectName := ps.lookup(p.Project)
	stamp := ps.stamp(project)
	if project == "" && stamp != nil {
		project, projectName = stamp.Project, "source stamp project"
	}
	if err := checkProject(project); err != nil {
		return target{}, false, fmt.Errorf("gerrit: %s %q is not a Gerrit project name: %w", projectName, project, err)
	}
	t.Project = project
	if t.PatchSet > 0 {
		return t, true, nil
	}
	rev, revName := ps.lookup(p.Revision)
	if rev == "" && stamp != nil {
		rev, revName = stamp.Revision, "source stamp revision"
	}
	if rev == "" {
		return target{}, false, fmt.Errorf("gerrit: build has Gerrit properties but neither a patch set number (%s) nor a revision (%s, or a source stamp revision)",
			strings.Join(p.PatchSet, ", "), strings.Join(p.Revision, ", "))
	}
	if !isCommit(rev) {
		return target{}, false, fmt.Errorf("gerrit: %s %q is not a commit id (hex)", revName, rev)
	}
	t.Revision = strings.ToLower(rev)
	return t, true, nil
}

// stamp returns the source stamp of project, or the default one.
func (ps propertySource) stamp(project string) *status.SourceStamp {
	for i := range ps.sources {
		if project != "" && ps.sources[i].Project == project {
			return &ps.sources[i]
		}
	}
	if len(ps.sources) > 0 {
		return &ps.sources[0]
	}
	return nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive integer")
	}
	return n, nil
}

// isCommit accepts abbreviated to full SHA-1 and SHA-256 ids.
func isCommit(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// checkProject refuses names Gerrit cannot have: control characters and
// invalid UTF-8 would also garble the command line and the URL.
func checkProject(p string) error {
	if !utf8.ValidString(p) {
		return fmt.Errorf("invalid UTF-8")
	}
	if strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return fmt.Errorf("control character")
	}
	if strings.HasPrefix(p, "-") {
		return fmt.Errorf("starts with '-'")
	}
	return nil
}
