package gitlab

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// MergeRequestProperty is the build property that holds the IID of a
// build's merge request (the number GitLab shows after "!"). The hooks
// package sets "merge_request.iid" on a merge request's change, which is
// read too.
const MergeRequestProperty = "gitlab_mr_iid"

// NoteOnFailure is a ready Options.Note: the build's one-sentence summary
// and its URL, for builds that did not succeed (success and warnings get
// no note).
var NoteOnFailure = status.RenderFunc(func(b *status.Build) string {
	if b.Result == status.Success || b.Result == status.Warnings {
		return ""
	}
	s := fmt.Sprintf("%s #%d: %s", b.Builder, b.Number, b.Summary())
	if b.URL != "" {
		s += "\n\n" + b.URL
	}
	return s
})

// maxNote bounds a note's text; GitLab takes a million characters, a
// status note needs far fewer.
const maxNote = 32 << 10

// mergeRequest reads the IID of the build's merge request, 0 for none.
func mergeRequest(b *status.Build, s *status.SourceStamp) int64 {
	for _, name := range []string{MergeRequestProperty, "merge_request.iid"} {
		var iid int64
		switch v := property(b, s, name).(type) {
		case int:
			iid = int64(v)
		case int64:
			iid = v
		case float64: // from JSON
			iid = int64(v)
		case string:
			iid, _ = strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "!"), 10, 64)
		}
		if iid > 0 {
			return iid
		}
	}
	return 0
}

// note leaves Options.Note on the merge request of a finished build, once
// per project, merge request and build.
func (r *Reporter) note(ctx context.Context, b *status.Build, s *status.SourceStamp, st *forge.Status[*gl.SetCommitStatusOptions]) error {
	if r.opts.Note == nil {
		return nil
	}
	iid := mergeRequest(b, s)
	if iid == 0 {
		return nil
	}
	text := forge.Cut(r.opts.Note.Render(b, forge.Keywords(b, s, st.Sent.State)), maxNote)
	if strings.TrimSpace(text) == "" {
		return nil
	}
	done := fmt.Sprintf("%s!%d %s #%d", strings.ToLower(st.Key.Repo), iid, b.Builder, b.Number)
	if _, ok := r.noted.Get(done); ok {
		return nil // a retried event, or a second codebase: the note is there
	}
	_, resp, err := r.client.Notes.CreateMergeRequestNote(st.Key.Repo, iid,
		&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(text)}, gl.WithContext(ctx))
	if err != nil {
		return r.failed(err, resp, &APIError{Forge: "gitlab", Repo: st.Key.Repo, Label: "merge request",
			Context: "!" + strconv.FormatInt(iid, 10), State: "a note"})
	}
	r.noted.Put(done, struct{}{})
	return nil
}
