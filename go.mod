module github.com/heraldci/herald

go 1.25

require (
	github.com/emersion/go-smtp v0.24.0
	github.com/wneessen/go-mail v0.7.2
)

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	golang.org/x/text v0.29.0 // indirect
)
