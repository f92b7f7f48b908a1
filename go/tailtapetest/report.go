package tailtapetest

import (
	"fmt"
	"sort"
	"strings"
)

// report is the part of tailtape's replay report (`--report FILE`, `GET /__tailtape/report`)
// that decides whether a test passed.
type report struct {
	Summary struct {
		Unmatched int `json:"unmatched"`
		Errors    int `json:"errors"`
		NotListed int `json:"not_listed"`
	} `json:"summary"`
	Unmatched []struct {
		Request string       `json:"request"`
		Reason  string       `json:"reason"`
		Nearest *interaction `json:"nearest"`
		Diff    string       `json:"diff"`
	} `json:"unmatched"`
	Unused   []interaction `json:"unused"`
	Faults   *FaultAccount `json:"fault_plan"`
	Findings []finding     `json:"findings"`
}

// finding is a finding of a report: an issue with a request or an answer.
type finding struct {
	Cassette    string `json:"cassette"`
	Interaction int    `json:"interaction"`
	Operation   string `json:"operation"`
	Side        string `json:"side"`
	Level       string `json:"level"`
	Rule        string `json:"rule"`
	Pointer     string `json:"pointer"`
	Message     string `json:"message"`
}

func (f finding) String() string {
	where := f.Side
	if f.Pointer != "" {
		where += " " + f.Pointer
	}
	return fmt.Sprintf("%s #%d %s: %s: %s: %s [%s]", f.Cassette, f.Interaction, f.Operation,
		f.Level, where, f.Message, f.Rule)
}

// emulateReport is the part of tailtape's emulate report (its journal) that decides whether a
// test passed: per session, findings on requests and faults (findings on the emulator's own
// answers), with the fault plan's account.
type emulateReport struct {
	Summary struct {
		Errors    int `json:"errors"`
		Faults    int `json:"faults"`
		NotListed int `json:"not_listed"`
	} `json:"summary"`
	Findings []finding                `json:"findings"`
	Faults   []finding                `json:"faults"`
	Sessions map[string]emulateReport `json:"sessions"`
	Plan     *FaultAccount            `json:"fault_plan"`
}

// problems lists what fails a test on the emulator: every emulator fault (any level: each is
// a bug in the emulator), every error finding, in the default session and each named one, and
// fault rules that never fired; "" when there is none.
func (r *emulateReport) problems() string {
	var b strings.Builder
	r.session("", &b)
	if never := r.Plan.neverFired(""); len(never) > 0 {
		fmt.Fprintf(&b, "\n%d fault rules never fired:", len(never))
		for _, line := range never {
			b.WriteString("\n  " + line)
		}
	}
	return strings.TrimPrefix(b.String(), "\n")
}

// session writes the problems of one session's journal, then of its named sessions.
func (r *emulateReport) session(name string, b *strings.Builder) {
	in := ""
	if name != "" {
		in = " in session " + name
	}
	if r.Summary.Faults > 0 {
		fmt.Fprintf(b, "\n%d emulator faults%s (answers that break the documented contract):",
			r.Summary.Faults, in)
		for _, f := range r.Faults {
			b.WriteString("\n  " + f.String())
		}
	}
	if r.Summary.Errors > 0 {
		fmt.Fprintf(b, "\n%d error findings%s:", r.Summary.Errors, in)
		for _, f := range r.Findings {
			if f.Level == "error" {
				b.WriteString("\n  " + f.String())
			}
		}
	}
	if (r.Summary.Faults > 0 || r.Summary.Errors > 0) && r.Summary.NotListed > 0 {
		fmt.Fprintf(b, "\n(%d more counted but not listed by the server)", r.Summary.NotListed)
	}
	names := make([]string, 0, len(r.Sessions))
	for n := range r.Sessions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		part := r.Sessions[n]
		part.session(n, b)
	}
}

// interaction is a recorded interaction, by cassette and position, with its request line.
type interaction struct {
	Cassette    string `json:"cassette"`
	Interaction int    `json:"interaction"`
	Request     string `json:"request"`
}

func (i interaction) String() string {
	return fmt.Sprintf("%s #%d %s", i.Cassette, i.Interaction, i.Request)
}

// problems lists what fails a test: unmatched requests (with the nearest recording and the
// diff), unused interactions (unless allowed), error findings and fault rules that never
// fired; "" when there is none.
func (r *report) problems(o options) string {
	var b strings.Builder
	if r.Summary.Unmatched > 0 {
		fmt.Fprintf(&b, "\n%d unmatched requests:", r.Summary.Unmatched)
		for _, u := range r.Unmatched {
			fmt.Fprintf(&b, "\n  %s: %s", u.Request, u.Reason)
			if u.Nearest != nil {
				fmt.Fprintf(&b, "\n    nearest: %s", u.Nearest)
			}
			if u.Diff != "" {
				b.WriteString("\n      " + strings.ReplaceAll(strings.TrimRight(u.Diff, "\n"), "\n", "\n      "))
			}
		}
	}
	if len(r.Unused) > 0 && !o.allowUnused {
		fmt.Fprintf(&b, "\n%d recorded interactions never used:", len(r.Unused))
		for _, u := range r.Unused {
			fmt.Fprintf(&b, "\n  %s", u)
		}
	}
	if r.Summary.Errors > 0 {
		fmt.Fprintf(&b, "\n%d error findings:", r.Summary.Errors)
		for _, f := range r.Findings {
			if f.Level != "error" {
				continue
			}
			where := f.Side
			if f.Pointer != "" {
				where += " " + f.Pointer
			}
			fmt.Fprintf(&b, "\n  %s #%d %s: %s: %s [%s]", f.Cassette, f.Interaction, f.Operation,
				where, f.Message, f.Rule)
		}
	}
	if never := r.Faults.neverFired(""); len(never) > 0 {
		fmt.Fprintf(&b, "\n%d fault rules never fired:", len(never))
		for _, line := range never {
			b.WriteString("\n  " + line)
		}
	}
	if b.Len() > 0 && r.Summary.NotListed > 0 {
		fmt.Fprintf(&b, "\n(%d more counted but not listed by the server)", r.Summary.NotListed)
	}
	return strings.TrimPrefix(b.String(), "\n")
}
