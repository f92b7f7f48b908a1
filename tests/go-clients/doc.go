// Package goclients runs the official Go clients of the Tailscale API, unmodified, against
// `tailtape replay` on the bundled cassettes: tailscale.com/client/tailscale/v2 (every method
// whose operation a bundled cassette records) and the deprecated
// github.com/tailscale/tailscale-client-go (v1, every method). Each test replays one cassette
// through the tailtapetest helper, makes the calls in the order the cassette recorded them,
// and checks each result against the recorded answer decoded into the client's own type; the
// helper fails the test on any request the cassette does not answer.
//
// The package has tests only; `scripts/test` runs them with TAILTAPE set to the binary it
// built.
package goclients
