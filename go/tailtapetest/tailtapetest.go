// Package tailtapetest runs a fake Tailscale API for a Go test: `tailtape replay` answering
// from recorded cassettes, or `tailtape emulate` holding a stateful fake tailnet, started for
// one test and checked when the test ends.
//
// It is a thin wrapper over the tailtape binary, not a second implementation: [Replay] starts
// `tailtape replay --listen 127.0.0.1:0 --strict --report FILE CASSETTES`, reads the base URL
// from the first line the server prints, and at the test's cleanup stops the server with
// SIGTERM and fails the test if the server's report lists a request that got no recorded
// answer, a recorded interaction the test never used, or an error finding (a request, or a
// recorded answer, that breaks the documented contract).
//
// [Emulate] starts `tailtape emulate --listen 127.0.0.1:0 --report FILE` (with `--seed` through
// [Seed]; the bundled example tailnet otherwise), needing no cassette, through the same
// machinery, and at cleanup fails the test on any emulator fault (an answer of the emulator that
// broke the documented response schema) or error finding (a request that broke the contract),
// in any `tailtape-session`.
//
// With [Faults], the server also applies a fault plan (`--faults FILE`: rate limits, outages,
// delays, resets and cut bodies for chosen requests), [Server.FaultAccount] says what it did,
// and a rule of the plan that never fired fails the test too.
//
// The binary is the one the TAILTAPE environment variable names, or else `tailtape` on PATH
// (`cargo install --path .` in a tailtape checkout puts it there).
package tailtapetest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBinary is the environment variable that names the tailtape binary; when it is unset,
// the binary is `tailtape` on PATH.
const EnvBinary = "TAILTAPE"

// How long the server may take to print its address, and to stop once signalled.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
)

// Server is a running `tailtape replay` or `tailtape emulate`, stopped and checked when its
// test ends.
type Server struct {
	// URL is the server's base URL, such as "http://127.0.0.1:40123" (no trailing slash):
	// the API lives under URL + "/api/v2/".
	URL string

	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait has returned
	err    error         // what cmd.Wait returned, read after exited is closed
	stderr *tailBuffer
	report string
	opts   options
	// command is the tailtape subcommand running: "replay" or "emulate".
	command string
}

// BaseURL returns [Server.URL] parsed, for clients that take a *url.URL (such as the
// BaseURL field of tailscale.com/client/tailscale/v2's Client).
func (s *Server) BaseURL() *url.URL {
	u, err := url.Parse(s.URL)
	if err != nil {
		panic("tailtapetest: the server's URL was checked when it started: " + err.Error())
	}
	return u
}

// An Option changes how [Replay] or [Emulate] runs the server or judges its report.
type Option func(*options)

type options struct {
	allowUnused bool
	faults      string
	seed        string
}

// Seed starts [Emulate] from the seed document at path (`tailtape emulate --seed`, format in
// tailtape's seeds/README.md) instead of the bundled example tailnet. A seed tailtape refuses
// stops the test with its message, which names the file, line and column. [Replay] ignores it.
func Seed(path string) Option {
	return func(o *options) { o.seed = path }
}

// AllowUnused lets the test pass with recorded interactions it never used, for a test that
// exercises only part of its cassettes. Unmatched requests and contract errors still fail it.
func AllowUnused() Option {
	return func(o *options) { o.allowUnused = true }
}

// Faults applies the fault plan in the file at path (`tailtape replay --faults`; the format is
// tailtape's schemas/faults.schema.json). A plan tailtape refuses stops the test with its
// message, which names the file, line and column; a rule of the plan that never fired fails the
// test when it ends.
func Faults(path string) Option {
	return func(o *options) { o.faults = path }
}

// Replay starts `tailtape replay` on the cassettes at path (a cassette file or a directory of
// them) on a free port of 127.0.0.1, and returns it once it is listening. When the test ends,
// the server is stopped and the test fails listing every unmatched request, every unused
// interaction (unless [AllowUnused]) and every error finding. Replay stops the test at once
// (t.Fatal) when the binary cannot be found or the server does not start, with the reason.
func Replay(t testing.TB, path string, opts ...Option) *Server {
	t.Helper()
	o := collect(opts)
	args := []string{"--strict"}
	if o.faults != "" {
		args = append(args, "--faults", o.faults)
	}
	return start(t, "replay", o, append(args, path)...)
}

// Emulate starts `tailtape emulate` (a stateful fake tailnet: what a test creates is listed,
// what it changes reads back, what it deletes is gone) on a free port of 127.0.0.1, seeded with
// the bundled example tailnet or the [Seed] option's, and returns it once it is listening. A
// request carrying a `tailtape-session` header works on its own copy of the tailnet. When the
// test ends, the server is stopped and the test fails listing every emulator fault and every
// error finding of its report, in every session, and (with [Faults]) every fault rule that
// never fired. Emulate stops the test at once (t.Fatal) when the binary cannot be found or the
// server does not start, with the reason.
func Emulate(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := collect(opts)
	var args []string
	if o.seed != "" {
		args = append(args, "--seed", o.seed)
	}
	if o.faults != "" {
		args = append(args, "--faults", o.faults)
	}
	return start(t, "emulate", o, args...)
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// start runs `tailtape COMMAND --listen 127.0.0.1:0 --report FILE ARGS…`, waits for its base
// URL and registers the check at the test's cleanup.
func start(t testing.TB, command string, o options, extra ...string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("tailtapetest: %v", err)
	}
	s := &Server{
		report:  filepath.Join(t.TempDir(), "tailtape-report.json"),
		stderr:  &tailBuffer{limit: 16 << 10},
		exited:  make(chan struct{}),
		opts:    o,
		command: command,
	}
	args := append([]string{command, "--listen", "127.0.0.1:0", "--report", s.report}, extra...)
	what := strings.Join(append([]string{bin}, args...), " ")
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("tailtapetest: %v", err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("tailtapetest: cannot start %s: %v", bin, err)
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r) // keep the pipe drained for as long as the server runs
	}()
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()

	select {
	case line := <-lines:
		if s.URL, err = baseURL(line); err != nil {
			s.stop()
			t.Fatalf("tailtapetest: %s: %v\n%s", what, err, s.stderr)
		}
	case <-time.After(startTimeout):
		s.stop()
		t.Fatalf("tailtapetest: %s printed no address within %s\n%s", what, startTimeout, s.stderr)
	}
	t.Cleanup(func() { s.finish(t) })
	return s
}

// Binary returns the path of the tailtape binary: the TAILTAPE environment variable's, which
// must be an executable file, or else `tailtape` found on PATH. Its error says what to do.
func Binary() (string, error) {
	if bin := os.Getenv(EnvBinary); bin != "" {
		info, err := os.Stat(bin)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w (set %s to the tailtape binary, "+
				"e.g. target/debug/tailtape after cargo build)", EnvBinary, bin, err, EnvBinary)
		}
		if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s: not an executable file (set %s to the tailtape binary)",
				EnvBinary, bin, EnvBinary)
		}
		return bin, nil
	}
	bin, err := exec.LookPath("tailtape")
	if err != nil {
		return "", fmt.Errorf("tailtape is not on PATH and %s is not set: install it with "+
			"`cargo install --path .` in a tailtape checkout, or set %s to the binary's path",
			EnvBinary, EnvBinary)
	}
	return bin, nil
}

// baseURL takes the base URL from the end of the server's first line
// ("tailtape replay: … on http://127.0.0.1:PORT").
func baseURL(line string) (string, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "", errors.New("exited before printing its address")
	}
	last := fields[len(fields)-1]
	u, err := url.Parse(last)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("its first line does not end with a base URL: %q", line)
	}
	return last, nil
}

// stop sends SIGTERM and waits for the server to exit, killing it if it does not in time.
// It reports whether the server stopped by itself.
func (s *Server) stop() bool {
	select {
	case <-s.exited:
		return true
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
		return true
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return false
	}
}

// finish stops the server and fails t with what its report found.
func (s *Server) finish(t testing.TB) {
	t.Helper()
	name := "tailtape " + s.command
	if !s.stop() {
		t.Errorf("tailtapetest: %s did not stop within %s of SIGTERM and was killed\n%s",
			name, stopTimeout, s.stderr)
		return
	}
	// Under replay's --strict, exit code 1 means the report found something; emulate exits 0
	// once stopped. Anything else is the server failing.
	var exit *exec.ExitError
	found := s.command == "replay" && errors.As(s.err, &exit) && exit.ExitCode() == 1
	if s.err != nil && !found {
		t.Errorf("tailtapetest: %s failed: %v\n%s", name, s.err, s.stderr)
		return
	}
	text, err := os.ReadFile(s.report)
	if err != nil {
		t.Errorf("tailtapetest: %s wrote no report: %v\n%s", name, err, s.stderr)
		return
	}
	problems, err := s.problems(text)
	if err != nil {
		t.Errorf("tailtapetest: %s: not a tailtape report: %v", s.report, err)
		return
	}
	if problems != "" {
		t.Errorf("%s: %s", name, problems)
	}
}

// problems reads the report text of the server's command and says what fails the test.
func (s *Server) problems(text []byte) (string, error) {
	if s.command == "emulate" {
		var r emulateReport
		if err := json.Unmarshal(text, &r); err != nil {
			return "", err
		}
		return r.problems(), nil
	}
	var r report
	if err := json.Unmarshal(text, &r); err != nil {
		return "", err
	}
	return r.problems(s.opts), nil
}

// tailBuffer keeps the last limit bytes written to it (the server's log), safe for the
// goroutine that copies the process's stderr and the test reading it.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte
	limit int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
