module github.com/heraldci/herald/hooks/benchcmp

go 1.25.0

require github.com/heraldci/herald v0.0.0

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/go-github/v60 v60.0.0 // indirect
	github.com/google/go-querystring v1.1.0 // indirect
)

require (
	github.com/go-playground/webhooks/v6 v6.4.0
	golang.org/x/crypto v0.55.0 // indirect
)

replace github.com/heraldci/herald => ../..
