package githubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CheckRun is a check run as GitHub keeps it.
type CheckRun struct {
	ID                     int64
	Owner, Repo            string
	Name, HeadSHA          string
	DetailsURL, ExternalID string
	Status, Conclusion     string
	StartedAt, CompletedAt time.Time
	Title, Summary, Text   string
	Annotations            []Annotation // appended by each request that carries some
	Requests               int          // the create and update requests that changed it
}

// Annotation is one annotation of a check run.
type Annotation struct {
	Path                   string
	StartLine, EndLine     int
	StartColumn, EndColumn int
	Level, Message, Title  string
	RawDetails             string
}

// Limits of the Checks API.
const (
	MaxOutputText          = 65535 // characters of a check run's output summary or text
	MaxAnnotationsPerCall  = 50    // annotations in one create or update request
	MaxAnnotationMessage   = 64 << 10
	maxAnnotationTitle     = 255
	maxCheckRunActions     = 3
	installationTokenStart = "ghs_"
)

// CheckRuns returns the check runs of a commit, oldest first.
func (s *Server) CheckRuns(owner, repo, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, c := range s.checkRuns {
		if strings.EqualFold(c.Owner+"/"+c.Repo, owner+"/"+repo) && strings.EqualFold(c.HeadSHA, sha) {
			c.Annotations = slices.Clone(c.Annotations)
			out = append(out, *c)
		}
	}
	return out
}

var (
	checkStatuses    = []string{"queued", "in_progress", "completed"}
	checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
	annotationLevels = []string{"notice", "warning", "failure"}
)

// checkRunBody is the body of a create or update request.
type checkRunBody struct {
	Name        *string `json:"name"`
	HeadSHA     *string `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       *string `json:"title"`
		Summary     *string `json:"summary"`
		Text        *string `json:"text"`
		Annotations []struct {
			Path            *string `json:"path"`
			StartLine       *int    `json:"start_line"`
			EndLine         *int    `json:"end_line"`
			StartColumn     *int    `json:"start_column"`
			EndColumn       *int    `json:"end_column"`
			AnnotationLevel *string `json:"annotation_level"`
			Message         *string `json:"message"`
			Title           *string `json:"title"`
			RawDetails      *string `json:"raw_details"`
		} `json:"annotations"`
		Images []struct {
			Alt      *string `json:"alt"`
			ImageURL *string `json:"image_url"`
			Caption  *string `json:"caption"`
		} `json:"images"`
	} `json:"output"`
	Actions []struct {
		Label       string `json:"label"`
		Description string `json:"description"`
		Identifier  string `json:"identifier"`
	} `json:"actions"`
}

func checkRoutes() []route {
	return []route{
		{http.MethodPost, regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/check-runs$`), (*Server).createCheckRun},
		{http.MethodPatch, regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/check-runs/([0-9]+)$`), (*Server).updateCheckRun},
	}
}

// appOnly answers 403 to a token that is not a GitHub App's installation
// token: GitHub lets only Apps write check runs.
func (s *Server) appOnly(w http.ResponseWriter, r *http.Request) (int, bool) {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, _ = strings.CutPrefix(auth, "token ")
	}
	if strings.HasPrefix(tok, installationTokenStart) {
		return 0, true
	}
	return Error(w, http.StatusForbidden, "You must authenticate via a GitHub App."), false
}

// invalid answers GitHub's 422 for a check-run body it refuses, and notes
// the problem: a correct client never sends it.
func (s *Server) invalid(w http.ResponseWriter, format string, args ...any) int {
	detail := fmt.Sprintf(format, args...)
	s.Log.Problem("check run: %s", detail)
	return Error(w, http.StatusUnprocessableEntity, "Invalid request.\n\n"+detail)
}

// readCheckRun checks the token and reads the body of a create or update
// request; it answers and returns false when either is refused.
func (s *Server) readCheckRun(w http.ResponseWriter, r *http.Request, req *Request, body *checkRunBody) (int, bool) {
	req.Endpoint = "check-run"
	if code, ok := s.appOnly(w, r); !ok {
		return code, false
	}
	if code, ok := s.decode(w, r, req, body); !ok {
		return code, false
	}
	req.Context = deref(body.Name)
	return 0, true
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request, req *Request, _ []string) int {
	var body checkRunBody
	if code, ok := s.readCheckRun(w, r, req, &body); !ok {
		return code
	}
	req.SHA = deref(body.HeadSHA)
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if !s.repoKnown(req.Owner, req.Repo) {
		return notFoundDoc(w, "checks/runs#create-a-check-run")
	}
	switch {
	case body.Name == nil || *body.Name == "":
		return s.invalid(w, `"name" wasn't supplied.`)
	case body.HeadSHA == nil:
		return s.invalid(w, `"head_sha" wasn't supplied.`)
	case !hexSHA.MatchString(req.SHA):
		s.Log.Problem("check run on %q, not a full commit SHA", req.SHA)
		return Error(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+req.SHA)
	case !s.commitKnown(req.SHA):
		return Error(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+req.SHA)
	}
	c := &CheckRun{Owner: req.Owner, Repo: req.Repo, Name: *body.Name, HeadSHA: strings.ToLower(req.SHA), Status: "queued"}
	if code := s.applyCheckRun(w, c, &body); code != 0 {
		return code
	}
	c.Requests++
	req.State = c.state()
	s.mu.Lock()
	s.nextID++
	c.ID = s.nextID
	s.checkRuns = append(s.checkRuns, c)
	out := s.checkRunJSON(c)
	s.mu.Unlock()
	req.CheckRun = c.ID
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request, req *Request, m []string) int {
	var body checkRunBody
	if code, ok := s.readCheckRun(w, r, req, &body); !ok {
		return code
	}
	req.CheckRun, _ = strconv.ParseInt(m[3], 10, 64)
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if body.HeadSHA != nil {
		return s.invalid(w, `"head_sha" is not a permitted key.`)
	}
	s.mu.Lock()
	var found *CheckRun
	for _, c := range s.checkRuns {
		if c.ID == req.CheckRun && strings.EqualFold(c.Owner+"/"+c.Repo, req.Owner+"/"+req.Repo) {
			found = c
		}
	}
	if found == nil {
		s.mu.Unlock()
		return notFoundDoc(w, "checks/runs#update-a-check-run")
	}
	c := *found
	c.Annotations = slices.Clone(c.Annotations)
	s.mu.Unlock()
	req.SHA = c.HeadSHA
	if body.Name != nil && *body.Name == "" {
		return s.invalid(w, `"name" is blank.`)
	}
	if body.Name != nil {
		c.Name = *body.Name
	}
	if code := s.applyCheckRun(w, &c, &body); code != 0 {
		return code
	}
	c.Requests++
	req.State = c.state()
	s.mu.Lock()
	*found = c
	out := s.checkRunJSON(&c)
	s.mu.Unlock()
	return writeJSON(w, http.StatusOK, out)
}

// applyCheckRun checks the fields of a create or update request as GitHub
// does and applies them to c; it answers and returns the code of a
// refusal, or returns 0.
func (s *Server) applyCheckRun(w http.ResponseWriter, c *CheckRun, b *checkRunBody) int {
	if b.Status != nil {
		if !slices.Contains(checkStatuses, *b.Status) {
			return s.invalid(w, "For 'properties/status', %q is not one of %q.", *b.Status, checkStatuses)
		}
		c.Status = *b.Status
	}
	if b.Conclusion != nil {
		if !slices.Contains(checkConclusions, *b.Conclusion) || *b.Conclusion == "stale" {
			// stale is GitHub's own: integrators may not set it.
			return s.invalid(w, "For 'properties/conclusion', %q is not one of %q.", *b.Conclusion, checkConclusions)
		}
		c.Conclusion, c.Status = *b.Conclusion, "completed"
	}
	if c.Status == "completed" && c.Conclusion == "" {
		return s.invalid(w, `"conclusion" wasn't supplied.`)
	}
	if c.Status != "completed" && b.CompletedAt != nil {
		return s.invalid(w, "completed_at given for a check run that is not completed")
	}
	for _, ts := range []struct {
		name string
		v    *string
		to   *time.Time
	}{{"started_at", b.StartedAt, &c.StartedAt}, {"completed_at", b.CompletedAt, &c.CompletedAt}} {
		if ts.v == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339, *ts.v)
		if err != nil {
			return s.invalid(w, "For 'properties/%s', %q is not a date-time.", ts.name, *ts.v)
		}
		*ts.to = t
	}
	if b.DetailsURL != nil {
		if u, err := url.Parse(*b.DetailsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s.invalid(w, "details_url %q is not a valid URL", *b.DetailsURL)
		}
		c.DetailsURL = *b.DetailsURL
	}
	if b.ExternalID != nil {
		c.ExternalID = *b.ExternalID
	}
	if len(b.Actions) > maxCheckRunActions {
		return s.invalid(w, "Only %d actions are allowed per request; %d were supplied.", maxCheckRunActions, len(b.Actions))
	}
	if b.Output == nil {
		return 0
	}
	o := b.Output
	switch {
	case o.Title == nil || *o.Title == "":
		return s.invalid(w, `"title" wasn't supplied.`)
	case o.Summary == nil || *o.Summary == "":
		return s.invalid(w, `"summary" wasn't supplied.`)
	case utf8.RuneCountInString(*o.Summary) > MaxOutputText:
		return s.invalid(w, "Only %d characters are allowed in the summary; %d were supplied.", MaxOutputText, utf8.RuneCountInString(*o.Summary))
	case o.Text != nil && utf8.RuneCountInString(*o.Text) > MaxOutputText:
		return s.invalid(w, "Only %d characters are allowed in the text; %d were supplied.", MaxOutputText, utf8.RuneCountInString(*o.Text))
	case len(o.Annotations) > MaxAnnotationsPerCall:
		return s.invalid(w, "Only %d annotations are allowed per request; %d were supplied.", MaxAnnotationsPerCall, len(o.Annotations))
	}
	var added []Annotation
	for i, a := range o.Annotations {
		at := fmt.Sprintf("annotations[%d]", i)
		switch {
		case a.Path == nil || *a.Path == "", a.StartLine == nil, a.EndLine == nil, a.AnnotationLevel == nil, a.Message == nil || *a.Message == "":
			return s.invalid(w, "%s lacks one of path, start_line, end_line, annotation_level, message.", at)
		case !slices.Contains(annotationLevels, *a.AnnotationLevel):
			return s.invalid(w, "For 'properties/%s/annotation_level', %q is not one of %q.", at, *a.AnnotationLevel, annotationLevels)
		case *a.StartLine < 1 || *a.EndLine < *a.StartLine:
			return s.invalid(w, "%s: lines %d to %d", at, *a.StartLine, *a.EndLine)
		case (a.StartColumn != nil || a.EndColumn != nil) && *a.StartLine != *a.EndLine:
			return s.invalid(w, "%s: start_column and end_column are only allowed when start_line and end_line are equal.", at)
		case strings.HasPrefix(*a.Path, "/") || strings.HasPrefix(*a.Path, "./") || slices.Contains(strings.Split(*a.Path, "/"), ".."):
			return s.invalid(w, "%s: path %q is not relative to the repository", at, *a.Path)
		case len(*a.Message) > MaxAnnotationMessage || a.RawDetails != nil && len(*a.RawDetails) > MaxAnnotationMessage:
			return s.invalid(w, "%s: message or raw_details over %d bytes", at, MaxAnnotationMessage)
		case a.Title != nil && utf8.RuneCountInString(*a.Title) > maxAnnotationTitle:
			return s.invalid(w, "%s: title over %d characters", at, maxAnnotationTitle)
		}
		added = append(added, Annotation{Path: *a.Path, StartLine: *a.StartLine, EndLine: *a.EndLine,
			StartColumn: derefInt(a.StartColumn), EndColumn: derefInt(a.EndColumn), Level: *a.AnnotationLevel,
			Message: *a.Message, Title: deref(a.Title), RawDetails: deref(a.RawDetails)})
	}
	c.Title, c.Summary = *o.Title, *o.Summary
	if o.Text != nil {
		c.Text = *o.Text
	}
	c.Annotations = append(c.Annotations, added...)
	return 0
}

// state is the check run's conclusion once completed, else its status.
func (c *CheckRun) state() string {
	if c.Conclusion != "" {
		return c.Conclusion
	}
	return c.Status
}

// checkRunJSON is GitHub's answer describing c; s.mu is held.
func (s *Server) checkRunJSON(c *CheckRun) map[string]any {
	base := s.Root() + s.opts.Prefix
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339)
	}
	conclusion := any(nil)
	if c.Conclusion != "" {
		conclusion = c.Conclusion
	}
	return map[string]any{
		"id": c.ID, "name": c.Name, "head_sha": c.HeadSHA, "external_id": c.ExternalID,
		"url":         fmt.Sprintf("%s/repos/%s/%s/check-runs/%d", base, c.Owner, c.Repo, c.ID),
		"html_url":    fmt.Sprintf("%s/%s/%s/runs/%d", s.Root(), c.Owner, c.Repo, c.ID),
		"details_url": c.DetailsURL, "status": c.Status, "conclusion": conclusion,
		"started_at": ts(c.StartedAt), "completed_at": ts(c.CompletedAt),
		"output": map[string]any{"title": c.Title, "summary": c.Summary, "text": c.Text,
			"annotations_count": len(c.Annotations),
			"annotations_url":   fmt.Sprintf("%s/repos/%s/%s/check-runs/%d/annotations", base, c.Owner, c.Repo, c.ID)},
	}
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
