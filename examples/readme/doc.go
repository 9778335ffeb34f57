// Package readme holds every Go snippet of the README inside code that
// compiles; its test fails when a README snippet is not found here verbatim,
// so the README cannot show code that does not build.
package readme
