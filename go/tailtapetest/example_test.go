package tailtapetest_test

import (
	"net/http"
	"strings"
	"testing"

	"tailtape/tailtapetest"
)

// A test of code that calls the Tailscale API, against the answers recorded in
// testdata/cassettes. When the test ends, it fails if the code sent a request that was not
// recorded or left a recorded one unsent.
func ExampleReplay() {
	testDeviceList := func(t *testing.T) {
		srv := tailtapetest.Replay(t, "testdata/cassettes")

		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v2/tailnet/-/devices", nil)
		req.Header.Set("Authorization", "Bearer tskey-api-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("device list: %s", resp.Status)
		}
	}
	_ = testDeviceList // a Test function in a real _test.go file
}

// A test of code that changes a tailnet, against `tailtape emulate` (no cassette): what the test
// creates is there when it reads it back. When the test ends, it fails if the emulator's report
// lists an emulator fault or an error finding.
func ExampleEmulate() {
	testCreateKey := func(t *testing.T) {
		srv := tailtapetest.Emulate(t) // tailtapetest.Seed("testdata/seed.json") for another tailnet

		body := strings.NewReader(`{"capabilities": {"devices": {"create": {"tags": ["tag:server"]}}}}`)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v2/tailnet/-/keys", body)
		req.Header.Set("Authorization", "Bearer tskey-api-test")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("tailtape-session", t.Name()) // a copy of the tailnet of this test's own
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("key creation: %s", resp.Status)
		}
	}
	_ = testCreateKey // a Test function in a real _test.go file
}
