package tailtapetest

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Emulate under the fake testing.TB: a test that only sends good requests passes, one that
// sends a request breaking the contract (in any session) fails naming it, an emulator fault
// fails the test, Seed starts the tailnet from another seed, and Faults applies a fault plan.

// emulate calls Emulate under fake in a goroutine of its own (Fatalf ends it); nil if it failed.
func emulate(fake *fakeTB, opts ...Option) *Server {
	done := make(chan *Server)
	go func() {
		var srv *Server
		defer func() { done <- srv }()
		srv = Emulate(fake, opts...)
	}()
	return <-done
}

// send sends an authorized request (in session, when not "") and returns status and body.
func send(t *testing.T, srv *Server, method, path, session, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tskey-api-test")
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("tailtape-session", session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAnEmulatedTailnetKeepsWhatATestCreatesAndACleanTestPasses(t *testing.T) {
	fake := &fakeTB{TB: t}
	srv := emulate(fake)
	if srv == nil {
		t.Fatalf("Emulate failed the test: %s", fake.end())
	}

	status, created := send(t, srv, "POST", "/api/v2/tailnet/-/keys", "",
		`{"capabilities": {"devices": {"create": {"tags": ["tag:server"]}}}, "description": "ci"}`)
	_, listed := send(t, srv, "GET", "/api/v2/tailnet/-/keys", "", "")
	_, other := send(t, srv, "GET", "/api/v2/tailnet/-/keys", "someone-else", "")

	if status != 200 || !strings.Contains(created, `"description":"ci"`) {
		t.Fatalf("creating a key: %d %s", status, created)
	}
	id := created[strings.Index(created, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	if !strings.Contains(listed, id) {
		t.Errorf("the created key %s is not listed: %s", id, listed)
	}
	if strings.Contains(other, id) {
		t.Errorf("another session sees the created key %s: %s", id, other)
	}
	if failed := fake.end(); failed != "" {
		t.Errorf("the test failed: %s", failed)
	}
}

func TestARequestThatBreaksTheContractFailsTheTestNamingItsSession(t *testing.T) {
	fake := &fakeTB{TB: t}
	srv := emulate(fake)
	if srv == nil {
		t.Fatalf("Emulate failed the test: %s", fake.end())
	}

	status, _ := send(t, srv, "POST", "/api/v2/tailnet/-/keys", "ci-7", `{"capabilities": 7}`)
	failed := fake.end()

	if status != 400 {
		t.Errorf("a key with capabilities 7 got %d, want 400", status)
	}
	for _, want := range []string{"tailtape emulate: ", "error findings in session ci-7:",
		"<live ci-7> #", "createKey: error: request /capabilities: 7 is not of type"} {
		if !strings.Contains(failed, want) {
			t.Errorf("the failure does not say %q:\n%s", want, failed)
		}
	}
}

func TestAnEmulatorFaultFailsTheTest(t *testing.T) {
	// Stands in for an emulator whose answer broke the response schema: on SIGTERM it writes a
	// report with one fault (of level warning: any fault is a bug of the emulator) to --report.
	fakeBinary(t, `report="$5"
trap 'cat > "$report" <<JSON
{"summary": {"requests": 1, "errors": 0, "warnings": 0, "faults": 1, "not_listed": 0},
 "findings": [], "faults": [{"cassette": "<live>", "interaction": 1, "operation": "deleteDevice",
 "side": "response", "level": "warning", "rule": "undocumented-status", "pointer": "",
 "message": "status 404 is not documented"}]}
JSON
exit 0' TERM
echo 'tailtape emulate: example.com from the bundled example tailnet on http://127.0.0.1:9'
while :; do sleep 0.1; done
`)
	fake := &fakeTB{TB: t}

	srv := emulate(fake)
	failed := fake.end()

	if srv == nil || srv.URL != "http://127.0.0.1:9" {
		t.Fatalf("Emulate did not return the printed base URL: %+v\n%s", srv, failed)
	}
	want := "1 emulator faults (answers that break the documented contract):\n" +
		"  <live> #1 deleteDevice: warning: response: status 404 is not documented [undocumented-status]"
	if !strings.Contains(failed, want) {
		t.Errorf("the failure does not list the fault %q:\n%s", want, failed)
	}
}

func TestSeedStartsTheTailnetFromAnotherSeedAndABadOneStopsTheTest(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "seeds", "example.json"))
	if err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(t.TempDir(), "seed.json")
	renamed := strings.Replace(string(example), `"hostname": "pangolin"`, `"hostname": "armadillo"`, 1)
	if renamed == string(example) {
		t.Fatal("the example seed has no device pangolin")
	}
	if err := os.WriteFile(seed, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := &fakeTB{TB: t}
	srv := emulate(fake, Seed(seed))
	if srv == nil {
		t.Fatalf("Emulate failed the test: %s", fake.end())
	}
	_, devices := send(t, srv, "GET", "/api/v2/tailnet/-/devices", "", "")
	if !strings.Contains(devices, `"hostname":"armadillo"`) {
		t.Errorf("the devices are not the seed's: %s", devices)
	}
	if failed := fake.end(); failed != "" {
		t.Errorf("the test failed: %s", failed)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"name\": \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake = &fakeTB{TB: t}
	srv = emulate(fake, Seed(bad))
	failed := fake.end()
	if srv != nil || !fake.fatal || !strings.Contains(failed, bad+":") {
		t.Errorf("a bad seed did not stop the test naming the file: %v\n%s", srv, failed)
	}
}

func TestAFaultPlanAppliesToTheEmulatorAndARuleThatNeverFiredFailsTheTest(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(plan, []byte(`{"rules": [
		{"name": "down", "operation": "listTailnetDevices", "first": 1, "status": 503},
		{"name": "never", "operation": "deleteWebhook", "first": 1, "status": 500}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := &fakeTB{TB: t}
	srv := emulate(fake, Faults(plan))
	if srv == nil {
		t.Fatalf("Emulate failed the test: %s", fake.end())
	}

	first, _ := send(t, srv, "GET", "/api/v2/tailnet/-/devices", "", "")
	second, _ := send(t, srv, "GET", "/api/v2/tailnet/-/devices", "", "")
	failed := fake.end()

	if first != 503 || second != 200 {
		t.Errorf("the device lists got %d then %d, want 503 then 200", first, second)
	}
	if !strings.Contains(failed, "1 fault rules never fired:\n  rule 2 (never): deleteWebhook") ||
		strings.Contains(failed, "(down)") {
		t.Errorf("the failure does not list the rule that never fired alone:\n%s", failed)
	}
}
