// Package goclients runs the official Go clients of the Tailscale API, unmodified, against
// `tailtape replay` on the bundled cassettes: tailscale.com/client/tailscale/v2 (every method
// whose operation a bundled cassette records) and the deprecated
// github.com/tailscale/tailscale-client-go (v1, every method). Each test replays one cassette
// through the tailtapetest helper, makes the calls in the order the cassette recorded them,
// and checks each result against the recorded answer decoded into the client's own type; the
// helper fails the test on any request the cassette does not answer. The emulate tests
// (emulate_test.go) run the v2 client's whole method set against `tailtape emulate` with no
// cassette: random names (seed logged; TAILTAPE_GO_SEED=N replays a run), random order,
// parallel subtests in sessions of their own and in one shared state.
//
// The package has tests only; `scripts/test` runs them with TAILTAPE set to the binary it
// built.
package goclients
