package tailtapetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"
)

// FaultAccount is what a fault plan did (`GET /__tailtape/faults`, and `faults` in the
// report): per rule, the requests it selected and fired on.
type FaultAccount struct {
	// Plan is where the plan came from (its file).
	Plan    string `json:"plan"`
	Summary struct {
		Rules           int `json:"rules"`
		Fired           int `json:"fired"`
		NeverFired      int `json:"never_fired"`
		RetriedTooEarly int `json:"retried_too_early"`
	} `json:"summary"`
	Rules []FaultRule `json:"rules"`
	// Sessions holds the accounts of sessions given plans of their own, by name.
	Sessions map[string]FaultAccount `json:"sessions"`
}

// FaultRule is one rule of a plan and what it did.
type FaultRule struct {
	Rule            int        `json:"rule"`
	Name            string     `json:"name"`
	Selects         string     `json:"selects"`
	When            string     `json:"when"`
	Action          string     `json:"action"`
	Selected        int        `json:"selected"`
	Fired           int        `json:"fired"`
	NeverFired      bool       `json:"never_fired"`
	RetriedTooEarly int        `json:"retried_too_early"`
	Hits            []FaultHit `json:"hits"`
}

// FaultHit is a request a rule acted on. After an answer with Retry-After, NextRequestMS and
// RetriedTooEarly say when the client's next request for the same operation came.
type FaultHit struct {
	Selected        int    `json:"selected"`
	Request         string `json:"request"`
	AtMS            int    `json:"at_ms"`
	RetryAfterS     *int   `json:"retry_after_s"`
	NextRequestMS   *int   `json:"next_request_ms"`
	RetriedTooEarly *bool  `json:"retried_too_early"`
}

// FaultAccount returns what the server's fault plan did so far; the test fails (t.Fatal) if
// the server does not answer.
func (s *Server) FaultAccount(t testing.TB) FaultAccount {
	t.Helper()
	client := http.Client{Timeout: stopTimeout, Transport: &http.Transport{}}
	res, err := client.Get(s.URL + "/__tailtape/faults")
	if err != nil {
		t.Fatalf("tailtapetest: the fault account: %v", err)
	}
	defer res.Body.Close()
	var account FaultAccount
	if err := json.NewDecoder(res.Body).Decode(&account); err != nil {
		t.Fatalf("tailtapetest: the fault account: %v", err)
	}
	return account
}

// neverFired lists the rules of the account (and of its sessions' plans) that never fired.
func (a *FaultAccount) neverFired(session string) []string {
	if a == nil {
		return nil
	}
	var lines []string
	for _, r := range a.Rules {
		if !r.NeverFired {
			continue
		}
		name := ""
		if r.Name != "" {
			name = " (" + r.Name + ")"
		}
		if session != "" {
			name += " in session " + session
		}
		lines = append(lines, fmt.Sprintf("rule %d%s: %s %s: %s (%d requests selected)",
			r.Rule, name, r.Selects, r.When, r.Action, r.Selected))
	}
	names := make([]string, 0, len(a.Sessions))
	for name := range a.Sessions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		part := a.Sessions[name]
		lines = append(lines, part.neverFired(name)...)
	}
	return lines
}

// Waited reports whether the client's next request after this hit's Retry-After came once
// the time was up (false too when no next request came).
func (h FaultHit) Waited() bool {
	return h.RetriedTooEarly != nil && !*h.RetriedTooEarly
}

// RetryAfter is the hit's Retry-After, zero when it sent none.
func (h FaultHit) RetryAfter() time.Duration {
	if h.RetryAfterS == nil {
		return 0
	}
	return time.Duration(*h.RetryAfterS) * time.Second
}
