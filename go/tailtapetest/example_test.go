package tailtapetest_test

import (
	"net/http"
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
