package tailtapetest

import (
	"fmt"
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
	Findings []struct {
		Cassette    string `json:"cassette"`
		Interaction int    `json:"interaction"`
		Operation   string `json:"operation"`
		Side        string `json:"side"`
		Level       string `json:"level"`
		Rule        string `json:"rule"`
		Pointer     string `json:"pointer"`
		Message     string `json:"message"`
	} `json:"findings"`
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
