// Package testkit holds what this module's own tests share and users do not
// write tests with: golden files, locating and requiring the real servers
// (HERALD_REQUIRE_SERVERS), and the repeated set-up around them.
package testkit
