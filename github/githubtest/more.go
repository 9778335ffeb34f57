package githubtest

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Comment is an issue or pull-request comment as GitHub keeps it.
type Comment struct {
	ID          int64
	Owner, Repo string
	Number      int
	Body        string
}

// MaxCommentBody is the longest comment GitHub takes, in characters.
const MaxCommentBody = 65536

// Comments returns the comments posted, oldest first.
func (s *Server) Comments() []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Comment(nil), s.comments...)
}

// extraRoutes serves the API beyond commit statuses.
func extraRoutes() []route {
	return []route{
		{http.MethodPost, regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/([0-9]+)/comments$`), (*Server).createComment},
	}
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, req *Request, m []string) int {
	req.Endpoint = "comment"
	var body struct {
		Body *string `json:"body"`
	}
	if code, ok := s.decode(w, r, req, &body); !ok {
		return code
	}
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if !s.repoKnown(req.Owner, req.Repo) {
		return notFoundDoc(w, "issues/comments#create-an-issue-comment")
	}
	n, err := strconv.Atoi(m[3])
	if err != nil || n <= 0 {
		return notFound(w)
	}
	text := deref(body.Body)
	switch {
	case strings.TrimSpace(text) == "":
		s.Log.Problem("comment without body")
		return Validation(w, "IssueComment", "body", "body cannot be blank")
	case utf8.RuneCountInString(text) > MaxCommentBody:
		s.Log.Problem("comment of %d characters", utf8.RuneCountInString(text))
		return Validation(w, "IssueComment", "body", "body is too long (maximum is 65536 characters)")
	}
	s.mu.Lock()
	s.nextID++
	c := Comment{ID: s.nextID, Owner: req.Owner, Repo: req.Repo, Number: n, Body: text}
	s.comments = append(s.comments, c)
	s.mu.Unlock()
	return writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "body": c.Body,
		"created_at": req.At.UTC().Format("2006-01-02T15:04:05Z")})
}
