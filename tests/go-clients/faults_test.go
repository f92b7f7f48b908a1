package goclients

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	tsclient "tailscale.com/client/tailscale/v2"

	"tailtape/tailtapetest"
)

// The official Go client (tailscale.com/client/tailscale/v2) against fault plans on the
// bundled devices cassette. The client has no retry logic: a faulted status comes back as an
// APIError with the status and the error body's message, a reset connection as the transport's
// error (ECONNRESET; net/http re-sends only on a reused connection, and each test's first call
// opens a new one), a cut body as io.ErrUnexpectedEOF. The test itself calls again, and gets
// the recorded answer (the cut one's next, since a cut answer used up its recording). tailtapetest fails a test whose plan has a rule that never fired.

// faulted returns a v2 client on a replay of the bundled devices cassette under plan.
func faulted(t *testing.T, plan string) (*tailtapetest.Server, *tsclient.Client) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(path, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := tailtapetest.Replay(t, filepath.Join(bundled, "devices.json"),
		tailtapetest.AllowUnused(), tailtapetest.Faults(path))
	return srv, &tsclient.Client{BaseURL: srv.BaseURL(), APIKey: apiKey}
}

// listDevices lists the devices with all fields, as the cassette recorded it first.
func listDevices(client *tsclient.Client) ([]tsclient.Device, error) {
	return client.Devices().ListWithAllFields(context.Background())
}

// apiError returns err as the client's APIError, failing the test if it is not one.
func apiError(t *testing.T, err error) tsclient.APIError {
	t.Helper()
	var apiErr tsclient.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v (%T), want a tsclient.APIError", err, err)
	}
	return apiErr
}

func TestFaults429WithRetryAfterIsAnAPIErrorAndAWaitedRetrySucceeds(t *testing.T) {
	srv, client := faulted(t, `{"rules": [{"name": "rate limited", "operation": "listTailnetDevices",
		"first": 1, "status": 429, "retry_after": 1}]}`)

	_, err := listDevices(client)
	limited := apiError(t, err)
	if limited.Status != 429 || limited.Message != "too many requests" {
		t.Errorf("got %+v, want status 429, message \"too many requests\"", limited)
	}
	hit := srv.FaultAccount(t).Rules[0].Hits[0]
	time.Sleep(hit.RetryAfter() + 50*time.Millisecond)
	devices, err := listDevices(client)
	if err != nil || len(devices) != 3 {
		t.Fatalf("after waiting: %d devices, %v", len(devices), err)
	}

	rule := srv.FaultAccount(t).Rules[0]
	if rule.Fired != 1 || !rule.Hits[0].Waited() {
		t.Errorf("the account does not show one 429 waited out: %+v", rule)
	}
}

func TestFaults429RetriedAtOnceIsRetriedTooEarly(t *testing.T) {
	srv, client := faulted(t, `{"rules": [{"operation": "listTailnetDevices", "first": 1,
		"status": 429, "retry_after": 1}]}`)

	_, err := listDevices(client)
	apiError(t, err)
	if _, err := listDevices(client); err != nil {
		t.Fatal(err)
	}

	account := srv.FaultAccount(t)
	if account.Summary.RetriedTooEarly != 1 || account.Rules[0].Hits[0].Waited() {
		t.Errorf("the account does not show the retry too early: %+v", account)
	}
}

func TestFaults503ThenSuccess(t *testing.T) {
	srv, client := faulted(t, `{"rules": [{"operation": "listTailnetDevices", "first": 1,
		"status": 503}]}`)

	_, err := listDevices(client)
	if down := apiError(t, err); down.Status != 503 || down.Message != "service unavailable" {
		t.Errorf("got %+v, want 503 service unavailable", down)
	}
	devices, err := listDevices(client)
	if err != nil || len(devices) != 3 {
		t.Fatalf("after the outage: %d devices, %v", len(devices), err)
	}
	if rule := srv.FaultAccount(t).Rules[0]; rule.Fired != 1 || rule.Selected != 2 {
		t.Errorf("account: %+v", rule)
	}
}

func TestFaultsResetIsAConnectionResetError(t *testing.T) {
	srv, client := faulted(t, `{"rules": [{"operation": "listTailnetDevices", "first": 1,
		"reset": true}]}`)

	_, err := listDevices(client)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("got %v, want an error wrapping ECONNRESET", err)
	}
	var apiErr tsclient.APIError
	if errors.As(err, &apiErr) {
		t.Errorf("a reset came back as an APIError: %+v", apiErr)
	}
	if devices, err := listDevices(client); err != nil || len(devices) != 3 {
		t.Fatalf("after the reset: %d devices, %v", len(devices), err)
	}
	if rule := srv.FaultAccount(t).Rules[0]; rule.Fired != 1 || rule.Selected != 2 {
		t.Errorf("account: %+v", rule)
	}
}

func TestFaultsTruncatedBodyIsAnUnexpectedEOF(t *testing.T) {
	srv, client := faulted(t, `{"rules": [{"operation": "listTailnetDevices", "first": 1,
		"truncate": 100}]}`)

	_, err := listDevices(client)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
	}
	// A cut answer is the recorded one cut, and used up as the real API would have done the
	// work: the next listing gets the cassette's next one (after a device was deleted).
	if devices, err := listDevices(client); err != nil || len(devices) != 2 {
		t.Fatalf("after the cut: %d devices, %v", len(devices), err)
	}
	if rule := srv.FaultAccount(t).Rules[0]; rule.Fired != 1 {
		t.Errorf("account: %+v", rule)
	}
}
