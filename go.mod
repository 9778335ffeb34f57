module github.com/heraldci/herald

go 1.25

require (
	golang.org/x/crypto v0.44.0
	golang.org/x/image v0.32.0
)

require golang.org/x/text v0.31.0 // indirect
