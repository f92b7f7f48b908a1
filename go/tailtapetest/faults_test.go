package tailtapetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePlan writes a fault plan into the test's temporary folder and returns its path.
func writePlan(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAFaultPlanAnswersAndItsAccountSaysWhatFired(t *testing.T) {
	fake := &fakeTB{TB: t}
	plan := writePlan(t, `{"rules": [
		{"name": "outage", "operation": "listDeviceRoutes", "first": 1, "status": 503}
	]}`)
	srv := replay(fake, writeCassette(t, twoDevices), Faults(plan))
	if srv == nil {
		t.Fatalf("Replay failed the test: %s", fake.end())
	}

	down, body := get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	up, _ := get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	get(t, srv, "/api/v2/device/nB2CNTRL/routes")
	account := srv.FaultAccount(t)

	if down != 503 || body != `{"message":"service unavailable"}` || up != 200 {
		t.Errorf("got %d %s then %d; want 503 with the error body, then 200", down, body, up)
	}
	if len(account.Rules) != 1 || account.Rules[0].Fired != 1 || account.Rules[0].Selected != 3 {
		t.Errorf("account: %+v", account)
	}
	if failed := fake.end(); failed != "" {
		t.Errorf("the test failed: %s", failed)
	}
}

func TestAFaultRuleThatNeverFiredFailsTheTest(t *testing.T) {
	fake := &fakeTB{TB: t}
	plan := writePlan(t, `{"rules": [
		{"operation": "listTailnetDevices", "first": 1, "status": 429, "retry_after": 1}
	]}`)
	srv := replay(fake, writeCassette(t, twoDevices), Faults(plan))
	if srv == nil {
		t.Fatalf("Replay failed the test: %s", fake.end())
	}
	get(t, srv, "/api/v2/device/nA1CNTRL/routes")
	get(t, srv, "/api/v2/device/nB2CNTRL/routes")

	failed := fake.end()
	want := "1 fault rules never fired:\n  rule 1: listTailnetDevices first 1: 429 Retry-After: 1 " +
		"(0 requests selected)"
	if !strings.Contains(failed, want) {
		t.Errorf("the failure does not name the rule:\n%s", failed)
	}
}

func TestABadFaultPlanStopsTheTestWithTailtapesMessage(t *testing.T) {
	fake := &fakeTB{TB: t}
	plan := writePlan(t, "{\"rules\": [\n  {\"operation\": \"listDevices\", \"first\": 1, \"reset\": true}]}")

	srv := replay(fake, writeCassette(t, twoDevices), Faults(plan))
	failed := fake.end()

	if srv != nil || !fake.fatal {
		t.Fatalf("Replay returned a server for a bad plan")
	}
	if !strings.Contains(failed, plan+`:2:17: no operation "listDevices"`) {
		t.Errorf("the failure does not name the place:\n%s", failed)
	}
}
