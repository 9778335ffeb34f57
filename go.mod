module github.com/heraldci/herald

go 1.25

require (
	github.com/google/go-github/v60 v60.0.0
	golang.org/x/oauth2 v0.30.0
)

require github.com/google/go-querystring v1.1.0 // indirect
