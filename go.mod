module github.com/heraldci/herald

go 1.25

require (
	github.com/andygrunwald/go-gerrit v1.0.0
	golang.org/x/crypto v0.44.0
)

require (
	github.com/google/go-querystring v1.1.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
