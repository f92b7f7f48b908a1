package tailtapetest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// These tests run the real binary (TAILTAPE or PATH, as users do; scripts/test sets TAILTAPE)
// under a fake testing.TB, to see what Replay does to a test that passes and one that fails.

// fakeTB records what Replay does to a test: its failures, and the cleanups it registers, which
// the real test runs when it chooses. Fatalf ends the calling goroutine, as testing.T's does.
type fakeTB struct {
	testing.TB // the real test, for TempDir and anything not overridden
	mu         sync.Mutex
	errors     []string
	fatal      bool
	cleanups   []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.mu.Lock()
	f.fatal = true
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// end runs the cleanups in reverse order, as the testing package does, and returns what the
// test was failed with ("" if it passed).
func (f *fakeTB) end() string {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return strings.Join(f.errors, "\n")
}

// replay calls Replay under fake in a goroutine of its own (Fatalf ends it); nil if it failed.
func replay(fake *fakeTB, path string, opts ...Option) *Server {
	done := make(chan *Server)
	go func() {
		var srv *Server
		defer func() { done <- srv }()
		srv = Replay(fake, path, opts...)
	}()
	return <-done
}

// A cassette of two recorded reads of devices' subnet routes.
const twoDevices = `{
  "tailtape": 1,
  "recorded": {"at": "2026-11-23T10:00:00Z", "upstream": "docs", "by": "hand"},
  "interactions": [
    {
      "request": {"method": "GET", "path": "/api/v2/device/nA1CNTRL/routes", "headers": {"authorization": "Bearer <redacted>"}},
      "response": {"status": 200, "headers": {"content-type": "application/json"}, "json": {"advertisedRoutes": ["10.0.0.0/16"], "enabledRoutes": []}}
    },
    {
      "request": {"method": "GET", "path": "/api/v2/device/nB2CNTRL/routes", "headers": {"authorization": "Bearer <redacted>"}},
      "response": {"status": 200, "headers": {"content-type": "application/json"}, "json": {"advertisedRoutes": [], "enabledRoutes": []}}
    }
  ]
}
`

func writeCassette(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "devices.json")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// get sends an authorized GET to the server and returns status and body.
func get(t *testing.T, srv *Server, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tskey-api-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestATestThatUsesEveryInteractionPasses(t *testing.T) {
	fake := &fakeTB{TB: t}
	srv := replay(fake, writeCassette(t, twoDevices))
	if srv == nil {
		t.Fatalf("Replay failed the test: %s", fake.end())
	}

	status, body := get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	get(t, srv, "/api/v2/device/nB2CNTRL/routes")

	if status != 200 || !strings.Contains(body, `"advertisedRoutes":["10.0.0.0/16"]`) {
		t.Errorf("got %d %s, want the recorded answer", status, body)
	}
	if failed := fake.end(); failed != "" {
		t.Errorf("the test failed: %s", failed)
	}
}

func TestAnUnmatchedRequestFailsTheTestNamingItAndTheNearestRecording(t *testing.T) {
	fake := &fakeTB{TB: t}
	srv := replay(fake, writeCassette(t, twoDevices))
	if srv == nil {
		t.Fatalf("Replay failed the test: %s", fake.end())
	}

	get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	get(t, srv, "/api/v2/device/nB2CNTRL/routes")
	status, _ := get(t, srv, "/api/v2/device/nC3CNTRL/routes")
	failed := fake.end()

	if status != http.StatusNotImplemented {
		t.Errorf("the unrecorded request got %d, want 501", status)
	}
	for _, want := range []string{
		"1 unmatched requests",
		"GET /api/v2/device/nC3CNTRL/routes: no recorded request matches",
		"nearest: ", // the nearest recording is named, with its cassette
		"+GET /api/v2/device/nC3CNTRL/routes",
	} {
		if !strings.Contains(failed, want) {
			t.Errorf("the failure does not say %q:\n%s", want, failed)
		}
	}
	if strings.Contains(failed, "never used") {
		t.Errorf("nothing was left unused, yet:\n%s", failed)
	}
}

func TestAnUnusedInteractionFailsTheTestUnlessAllowed(t *testing.T) {
	cassette := writeCassette(t, twoDevices)

	strict := &fakeTB{TB: t}
	srv := replay(strict, cassette)
	get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	failed := strict.end()

	lenient := &fakeTB{TB: t}
	srv = replay(lenient, cassette, AllowUnused())
	get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	allowed := lenient.end()

	want := "1 recorded interactions never used:\n  " + cassette + " #1 GET /api/v2/device/nB2CNTRL/routes"
	if !strings.Contains(failed, want) {
		t.Errorf("the failure does not list the unused interaction %q:\n%s", want, failed)
	}
	if allowed != "" {
		t.Errorf("with AllowUnused the test failed: %s", allowed)
	}
}

func TestABadCassetteStopsTheTestWithTailtapesMessage(t *testing.T) {
	fake := &fakeTB{TB: t}
	cassette := writeCassette(t, `{"tailtape": 1, "interactions": [}`)

	srv := replay(fake, cassette)
	failed := fake.end()

	if srv != nil || !fake.fatal {
		t.Fatalf("Replay returned a server for a malformed cassette")
	}
	if !strings.Contains(failed, "exited before printing its address") ||
		!strings.Contains(failed, cassette+":1:") {
		t.Errorf("the failure does not name the file and line:\n%s", failed)
	}
}

func TestTheBinaryIsFoundOnPathWhenTailtapeIsUnset(t *testing.T) {
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "tailtape")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinary, "")
	t.Setenv("PATH", dir)

	found, err := Binary()
	fake := &fakeTB{TB: t}
	srv := replay(fake, writeCassette(t, twoDevices), AllowUnused())
	failed := fake.end()

	if err != nil || found != filepath.Join(dir, "tailtape") {
		t.Errorf("Binary() = %q, %v; want the one on PATH", found, err)
	}
	if srv == nil || failed != "" {
		t.Errorf("Replay with the binary on PATH failed: %s", failed)
	}
}

func TestAMissingBinarySaysWhatToDo(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "tailtape")
	for _, tc := range []struct {
		name, env, path string
		want            []string
	}{
		{"TAILTAPE names no file", missing, os.Getenv("PATH"),
			[]string{"TAILTAPE=" + missing, "no such file", "set TAILTAPE to the tailtape binary"}},
		{"TAILTAPE names a directory", t.TempDir(), os.Getenv("PATH"),
			[]string{"not an executable file"}},
		{"neither TAILTAPE nor PATH", "", t.TempDir(),
			[]string{"tailtape is not on PATH and TAILTAPE is not set",
				"cargo install --path .", "set TAILTAPE to the binary's path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinary, tc.env)
			t.Setenv("PATH", tc.path)
			fake := &fakeTB{TB: t}

			srv := replay(fake, writeCassette(t, twoDevices))
			failed := fake.end()

			if srv != nil || !fake.fatal {
				t.Fatalf("Replay did not stop the test")
			}
			for _, want := range tc.want {
				if !strings.Contains(failed, want) {
					t.Errorf("the failure does not say %q:\n%s", want, failed)
				}
			}
		})
	}
}

func TestARecordingThatBreaksTheContractFailsTheTest(t *testing.T) {
	fake := &fakeTB{TB: t}
	// A routes answer of the wrong shape.
	cassette := writeCassette(t, strings.Replace(twoDevices,
		`"json": {"advertisedRoutes": [], "enabledRoutes": []}`, `"json": {"enabledRoutes": 7}`, 1))

	srv := replay(fake, cassette)
	get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	get(t, srv, "/api/v2/device/nB2CNTRL/routes")
	failed := fake.end()

	want := cassette + " #1 listDeviceRoutes: response /enabledRoutes: 7 is not of type"
	if !strings.Contains(failed, "error findings:") || !strings.Contains(failed, want) {
		t.Errorf("the failure does not list the finding %q:\n%s", want, failed)
	}
}

// fakeBinary writes an executable shell script standing in for tailtape and points TAILTAPE
// at it.
func fakeBinary(t *testing.T, script string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tailtape")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinary, bin)
}

func TestAFirstLineWithoutABaseURLStopsTheTest(t *testing.T) {
	fakeBinary(t, "echo 'listening somewhere'\nexec sleep 30\n")
	fake := &fakeTB{TB: t}

	srv := replay(fake, "cassettes")
	failed := fake.end()

	if srv != nil || !fake.fatal {
		t.Fatalf("Replay returned a server that printed no base URL")
	}
	if !strings.Contains(failed, `its first line does not end with a base URL: "listening somewhere\n"`) {
		t.Errorf("the failure does not quote the line:\n%s", failed)
	}
}

func TestAServerThatFailsToStopFailsTheTestWithItsLog(t *testing.T) {
	// Prints its address, then exits 3 with a message on SIGTERM instead of writing a report.
	fakeBinary(t, "trap 'echo replay broke >&2; exit 3' TERM\n"+
		"echo 'tailtape replay: 0 interactions on http://127.0.0.1:9'\n"+
		"while :; do sleep 0.1; done\n")
	fake := &fakeTB{TB: t}

	srv := replay(fake, "cassettes")
	failed := fake.end()

	if srv == nil || srv.URL != "http://127.0.0.1:9" {
		t.Fatalf("Replay did not return the printed base URL: %+v\n%s", srv, failed)
	}
	if !strings.Contains(failed, "tailtape replay failed: exit status 3\nreplay broke") {
		t.Errorf("the failure does not give the exit status and the log:\n%s", failed)
	}
}
