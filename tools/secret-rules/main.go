// Command secret-rules writes gitleaks' default rule set as JSON, for tailtape's final scan.
//
// It reads the configuration gitleaks embeds (config.DefaultConfig, a TOML string) and keeps,
// per rule, what the Rust side uses: the id, the regular expression, the keywords (a cheap
// prefilter), the entropy threshold and the secret group. Allowlists are not carried over: a
// false alarm in a cassette costs a re-run with --redact, a missed secret costs a leak.
//
// Usage: go run . -version v8.x.y > ../../src/redact/gitleaks-rules.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/BurntSushi/toml"
	"github.com/zricethezav/gitleaks/v8/config"
)

type rule struct {
	ID          string   `json:"id"`
	Regex       string   `json:"regex"`
	Keywords    []string `json:"keywords"`
	Entropy     float64  `json:"entropy,omitempty"`
	SecretGroup int      `json:"secretGroup,omitempty"`
}

type output struct {
	Source  string `json:"source"`
	Version string `json:"version"`
	License string `json:"license"`
	Rules   []rule `json:"rules"`
}

type tomlRule struct {
	ID          string   `toml:"id"`
	Regex       string   `toml:"regex"`
	Keywords    []string `toml:"keywords"`
	Entropy     float64  `toml:"entropy"`
	SecretGroup int      `toml:"secretGroup"`
	Path        string   `toml:"path"`
}

type tomlConfig struct {
	Rules []tomlRule `toml:"rules"`
}

func main() {
	version := flag.String("version", "", "the gitleaks module version the rules come from")
	flag.Parse()
	if *version == "" {
		fmt.Fprintln(os.Stderr, "secret-rules: -version is required")
		os.Exit(2)
	}
	var parsed tomlConfig
	if _, err := toml.Decode(config.DefaultConfig, &parsed); err != nil {
		fmt.Fprintf(os.Stderr, "secret-rules: gitleaks' default config: %v\n", err)
		os.Exit(1)
	}
	out := output{
		Source:  "github.com/zricethezav/gitleaks/v8/config.DefaultConfig",
		Version: *version,
		License: "MIT, Copyright (c) 2019 Zachary Rice; see gitleaks-rules.LICENSE",
	}
	for _, r := range parsed.Rules {
		// Rules on file paths only (no content regex) say nothing about a body.
		if r.Regex == "" {
			continue
		}
		keywords := r.Keywords
		if keywords == nil {
			keywords = []string{}
		}
		out.Rules = append(out.Rules, rule{
			ID:          r.ID,
			Regex:       r.Regex,
			Keywords:    keywords,
			Entropy:     r.Entropy,
			SecretGroup: r.SecretGroup,
		})
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].ID < out.Rules[j].ID })
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "secret-rules: %v\n", err)
		os.Exit(1)
	}
}
