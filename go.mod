module github.com/heraldci/herald

go 1.25

require golang.org/x/crypto v0.44.0
