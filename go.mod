module github.com/heraldci/herald

go 1.25
