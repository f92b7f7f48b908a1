package goclients

import (
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	tsclient "tailscale.com/client/tailscale/v2"

	"tailtape/tailtapetest"
)

// The official Go client (tailscale.com/client/tailscale/v2), unmodified, against
// `tailtape emulate` with no cassette: every method whose operation the API has, on the bundled
// example tailnet (seeds/example.json), creating things under random names, reading back what
// it changed, deleting and getting the client's 404 (tsclient.IsNotFound). Each part of the
// API is a parallel subtest in its own `tailtape-session` (its own copy of the tailnet), its
// independent steps in a random order; TestEmulateV2SharedState has parallel subtests share the
// default session under distinct names. The random seed is logged; TAILTAPE_GO_SEED=N replays
// a run. tailtapetest.Emulate fails the test on any emulator fault or error finding.

// EnvSeed names the environment variable that fixes the random seed of the emulate tests.
const EnvSeed = "TAILTAPE_GO_SEED"

// seedOnce is the run's random seed, from TAILTAPE_GO_SEED or the clock.
var seedOnce = sync.OnceValue(func() int64 {
	if text := os.Getenv(EnvSeed); text != "" {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	}
	return time.Now().UnixNano()
})

// randomFor returns the random source of one test, derived from the run's seed and logged.
func randomFor(t *testing.T) *rand.Rand {
	t.Helper()
	seed := seedOnce()
	t.Logf("random seed %d (rerun with %s=%d)", seed, EnvSeed, seed)
	var h int64
	for _, c := range t.Name() {
		h = h*31 + int64(c)
	}
	return rand.New(rand.NewSource(seed ^ h))
}

// inSession is an http.RoundTripper that sends every request in one tailtape session.
type inSession struct {
	name string
	next http.RoundTripper
}

func (s inSession) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("tailtape-session", s.name)
	return s.next.RoundTrip(r)
}

// emulatedClient returns a v2 client of srv's tailnet `-`, in session (the default one when "").
func emulatedClient(srv *tailtapetest.Server, session string) *tsclient.Client {
	transport := http.RoundTripper(&http.Transport{})
	if session != "" {
		transport = inSession{name: session, next: transport}
	}
	return &tsclient.Client{
		BaseURL: srv.BaseURL(),
		APIKey:  apiKey,
		HTTP:    &http.Client{Timeout: 30 * time.Second, Transport: transport},
	}
}

// randomName returns prefix followed by n random lowercase letters and digits.
func randomName(r *rand.Rand, prefix string, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte(prefix)
	for range n {
		b = append(b, letters[r.Intn(len(letters))])
	}
	return string(b)
}

// inRandomOrder runs steps (independent of each other) in an order drawn from r.
func inRandomOrder(r *rand.Rand, steps ...func()) {
	r.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
	for _, step := range steps {
		step()
	}
}

// ok fails the test (going on) when err is not nil; it reports whether err was nil.
func ok(t *testing.T, what string, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	return true
}

// notFound checks that err is the client's 404 error.
func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if !tsclient.IsNotFound(err) {
		t.Errorf("%s: got %v (%T), want the client's 404 APIError", what, err, err)
	}
}

// refusedWith checks that err is the client's APIError with the status.
func refusedWith(t *testing.T, what string, status int, err error) {
	t.Helper()
	apiErr, isAPI := err.(tsclient.APIError)
	if !isAPI || apiErr.Status != status {
		t.Errorf("%s: got %v (%T), want the client's APIError with status %d", what, err, err, status)
	}
}

// area is one part of the API, exercised on a client of its own session.
type area struct {
	name string
	run  func(t *testing.T, client *tsclient.Client, r *rand.Rand)
}

var areas = []area{
	{"devices", emulateDevices},
	{"posture-attributes", emulatePostureAttributes},
	{"keys", emulateKeys},
	{"oauth-clients", emulateOAuthClients},
	{"policy-file", emulatePolicyFile},
	{"dns", emulateDNS},
	{"split-dns", emulateSplitDNS},
	{"settings-and-contacts", emulateSettingsAndContacts},
	{"webhooks", emulateWebhooks},
	{"users", emulateUsers},
	{"logging", emulateLogging},
	{"posture-integrations", emulatePostureIntegrations},
	{"services", emulateServices},
}

// TestEmulateV2 runs every area as a parallel subtest, in a random order, each in its own
// session of one emulator.
func TestEmulateV2(t *testing.T) {
	srv := tailtapetest.Emulate(t)
	r := randomFor(t)
	order := slices.Clone(areas)
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, a := range order {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			r := randomFor(t)
			a.run(t, emulatedClient(srv, randomName(r, a.name+"-", 8)), r)
		})
	}
}

// TestEmulateV2SharedState has parallel subtests create keys and webhooks with distinct random
// names in the one default session, each checking that what it created is listed and reads
// back, and what it deleted is gone, whatever the others did meanwhile.
func TestEmulateV2SharedState(t *testing.T) {
	srv := tailtapetest.Emulate(t)
	client := emulatedClient(srv, "")
	for i := range 6 {
		t.Run(fmt.Sprintf("worker-%d", i), func(t *testing.T) {
			t.Parallel()
			r := randomFor(t)
			ctx := context.Background()
			keys, webhooks := client.Keys(), client.Webhooks()
			description := randomName(r, fmt.Sprintf("w%d-", i), 10)
			request := tsclient.CreateKeyRequest{ExpirySeconds: int64(3600 + r.Intn(86400)), Description: description}
			request.Capabilities.Devices.Create.Tags = []string{"tag:server"}
			key, err := keys.CreateAuthKey(ctx, request)
			if !ok(t, "CreateAuthKey", err) {
				return
			}
			url := "https://hooks.example.com/" + randomName(r, "", 12)
			hook, err := webhooks.Create(ctx, tsclient.CreateWebhookRequest{
				EndpointURL:   url,
				ProviderType:  tsclient.WebhookEmptyProviderType,
				Subscriptions: []tsclient.WebhookSubscriptionType{tsclient.WebhookNodeCreated},
			})
			if !ok(t, "Webhooks.Create", err) {
				return
			}
			inRandomOrder(r,
				func() {
					list, err := keys.List(ctx, false)
					if ok(t, "Keys.List", err) && !slices.ContainsFunc(list, func(k tsclient.Key) bool { return k.ID == key.ID }) {
						t.Errorf("key %s is not listed: %v", key.ID, list)
					}
					got, err := keys.Get(ctx, key.ID)
					if ok(t, "Keys.Get", err) && got.Description != description {
						t.Errorf("key %s reads back description %q, want %q", key.ID, got.Description, description)
					}
				},
				func() {
					list, err := webhooks.List(ctx)
					if ok(t, "Webhooks.List", err) && !slices.ContainsFunc(list, func(w tsclient.Webhook) bool {
						return w.EndpointID == hook.EndpointID && w.EndpointURL == url
					}) {
						t.Errorf("webhook %s (%s) is not listed: %v", hook.EndpointID, url, list)
					}
				})
			ok(t, "Webhooks.Delete", webhooks.Delete(ctx, hook.EndpointID))
			_, err = webhooks.Get(ctx, hook.EndpointID)
			notFound(t, "Webhooks.Get after Delete", err)
			ok(t, "Keys.Delete", keys.Delete(ctx, key.ID))
			list, err := keys.List(ctx, false)
			if ok(t, "Keys.List after Delete", err) && slices.ContainsFunc(list, func(k tsclient.Key) bool { return k.ID == key.ID }) {
				t.Errorf("deleted key %s is still listed", key.ID)
			}
		})
	}
}
