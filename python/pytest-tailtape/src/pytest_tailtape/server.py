"""The `tailtape replay` process behind the fixture: finding the binary, starting it on a free
port with `--strict` (and a fault plan, `--faults`), reading its base URL from the first line
it prints, fetching its journal (`GET /__tailtape/report`) and its fault account (`GET
/__tailtape/faults`), setting a plan at run time, stopping it with SIGTERM, and turning a
journal into the text a failed test shows. `emulate.EmulateServer` runs `tailtape emulate`
through the same start and stop (`_launch`, `command`). Nothing here knows pytest, so the
plugin stays a thin layer over the binary: matching, sequences and the journal are the
binary's, never re-implemented here."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO, Any

#: The environment variable naming the binary; without it, `tailtape` is looked up on PATH.
ENV_VAR = "TAILTAPE"
#: Seconds the server has to print its first line (it loads and checks every cassette first).
START_TIMEOUT = 30.0
#: Seconds the server has to answer its report, and to exit after SIGTERM.
STOP_TIMEOUT = 10.0
#: Talks to the server directly: a proxy from the environment (`http_proxy`) never applies.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class TailtapeError(Exception):
    """The binary is missing, or the server could not start, answer or stop; the message says
    what happened and what to do."""


def find_binary(environ: Mapping[str, str] = os.environ) -> str:
    """The path of the `tailtape` binary: `$TAILTAPE` (a path, or a name looked up on PATH) if
    set, else `tailtape` on PATH."""
    named = environ.get(ENV_VAR)
    if named:
        found = shutil.which(named, path=environ.get("PATH"))
        if found is None:
            raise TailtapeError(
                f"{ENV_VAR}={named} is not an executable file: build tailtape (`cargo build` in "
                f"its repository makes target/debug/tailtape) and set {ENV_VAR} to its path, or "
                f"unset {ENV_VAR} to use the tailtape on PATH"
            )
        return found
    found = shutil.which("tailtape", path=environ.get("PATH"))
    if found is None:
        raise TailtapeError(
            f"tailtape is not on PATH and {ENV_VAR} is not set: install it (`cargo install "
            f"--path .` in the tailtape repository puts it on PATH) or set {ENV_VAR} to the "
            f"binary (e.g. {ENV_VAR}=target/debug/tailtape after `cargo build`)"
        )
    return found


class ReplayServer:
    """A running `tailtape replay --listen 127.0.0.1:0 --strict CASSETTE...`.

    `url` is its base URL (`http://127.0.0.1:PORT`; the API lives under `/api/v2/`), `pid` its
    process id."""

    def __init__(self, process: subprocess.Popen, log: IO[bytes], url: str) -> None:
        self._process = process
        self._log = log
        self.url = url

    #: The `tailtape` subcommand this class runs, named in its messages.
    command = "replay"

    @classmethod
    def start(
        cls,
        binary: str,
        cassettes: Sequence[os.PathLike | str],
        faults: os.PathLike | str | None = None,
    ) -> ReplayServer:
        """Starts the server and waits for its first line; raises `TailtapeError` with the
        server's own message (which names the file, line and column of a bad cassette or fault
        plan) if it exits first. `faults` is a fault plan file (`--faults`)."""
        arguments = ["--strict"]
        if faults is not None:
            arguments += ["--faults", os.fspath(faults)]
        return cls._launch(binary, arguments + [os.fspath(c) for c in cassettes])

    @classmethod
    def _launch(cls, binary: str, arguments: list[str]):
        """Runs `binary COMMAND --listen 127.0.0.1:0 ARGUMENTS...` and waits for its base URL."""
        command = [binary, cls.command, "--listen", "127.0.0.1:0", *arguments]
        log = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "NO_COLOR": "1"},
            )
        except OSError as err:
            log.close()
            raise TailtapeError(f"cannot run {binary}: {err}") from err
        server = cls(process, log, url="")
        try:
            line = server._first_line()
            words = line.split()
            if not words or not words[-1].startswith("http://"):
                server._kill()
                raise TailtapeError(
                    f"tailtape {cls.command} printed {line!r} first; expected a line ending "
                    f"with its base URL. Its log:\n{server.log()}"
                )
        except TailtapeError:
            server.close()
            raise
        server.url = words[-1]
        return server

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    def report(self) -> dict[str, Any]:
        """The server's journal (`GET /__tailtape/report`): matched, unmatched and unused
        interactions, and validation findings."""
        try:
            with _DIRECT.open(f"{self.url}/__tailtape/report", timeout=STOP_TIMEOUT) as answer:
                return json.load(answer)
        except (OSError, ValueError) as err:
            raise TailtapeError(
                f"tailtape {self.command} at {self.url} did not give its report ({err}). Its "
                f"log:\n{self.log()}"
            ) from err

    def faults(self) -> dict[str, Any]:
        """What the fault plan did so far (`GET /__tailtape/faults`): per rule, how many requests
        it selected and `fired` on, its `hits`, `never_fired`, and for each `Retry-After`
        whether the client came back too early."""
        return self._get_json("faults")

    def set_faults(self, plan: Mapping[str, Any]) -> None:
        """Replaces the server's fault plan (`POST /__tailtape/faults`); raises `TailtapeError`
        with the server's reason (place and cause) if it refuses the plan."""
        request = urllib.request.Request(
            f"{self.url}/__tailtape/faults",
            data=json.dumps(plan).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        try:
            with _DIRECT.open(request, timeout=STOP_TIMEOUT):
                pass
        except urllib.error.HTTPError as err:
            reason = err.read().decode("utf-8", errors="replace")
            raise TailtapeError(
                f"tailtape {self.command} refused the fault plan: {reason}"
            ) from err
        except OSError as err:
            raise TailtapeError(f"tailtape {self.command} at {self.url}: {err}") from err

    def _get_json(self, endpoint: str) -> dict[str, Any]:
        try:
            with _DIRECT.open(f"{self.url}/__tailtape/{endpoint}", timeout=STOP_TIMEOUT) as answer:
                return json.load(answer)
        except (OSError, ValueError) as err:
            raise TailtapeError(
                f"tailtape {self.command} at {self.url} did not give its {endpoint} ({err}). "
                f"Its log:\n{self.log()}"
            ) from err

    def stop(self) -> int:
        """Sends SIGTERM and waits for the server to exit; returns its exit code (under
        `--strict`: 0 clean, 1 something unmatched, unused or invalid)."""
        self._process.terminate()
        try:
            code = self._process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
            raise TailtapeError(
                f"tailtape {self.command} at {self.url} did not stop within {STOP_TIMEOUT:g} s of "
                f"SIGTERM; killed it. Its log:\n{self.log()}"
            ) from None
        finally:
            self._process.stdout.close()
        return code

    def log(self) -> str:
        """What the server wrote on stderr so far."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", errors="replace")

    def close(self) -> None:
        self._log.close()

    def _first_line(self) -> str:
        """The first stdout line, read with a deadline: an exit or a silence gets the log."""
        deadline = time.monotonic() + START_TIMEOUT
        out = self._process.stdout
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(out, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(timeout=left):
                    self._kill()
                    raise TailtapeError(
                        f"tailtape {self.command} printed no line within {START_TIMEOUT:g} s; "
                        f"killed it. Its log:\n{self.log()}"
                    )
                chunk = os.read(out.fileno(), 1)
                if not chunk:
                    code = self._process.wait()
                    raise TailtapeError(
                        f"tailtape {self.command} exited with code {code} before serving:\n"
                        f"{self.log().rstrip()}"
                    )
                line += chunk
        return line.decode("utf-8", errors="replace").rstrip("\n")

    def _kill(self) -> None:
        self._process.kill()
        self._process.wait()
        self._process.stdout.close()


def problems(report: Mapping[str, Any], allow_unused: bool = False) -> str | None:
    """What a journal shows that fails a test, as text, or `None`: unmatched requests (with the
    nearest recorded request and the diff), unused interactions (unless `allow_unused`),
    error-level validation findings, and fault rules that never fired, the same as what makes
    `--strict` exit 1. The first line
    counts them (pytest's short summary shows it); one line follows for each."""
    counts, lines = [], []

    def section(entries: list, what: str, whats: str | None = None) -> None:
        whats = whats or f"{what}s"
        if entries:
            counts.append(f"{len(entries)} {what if len(entries) == 1 else whats}")
            lines.append(f"{whats}:")

    unmatched = report.get("unmatched", [])
    section(unmatched, "unmatched request")
    for entry in unmatched:
        line = f"  {entry['request']}: {entry['reason']}"
        if entry.get("nearest"):
            line += f"; nearest recorded: {_interaction(entry['nearest'])}"
        lines.append(line)
        lines += [f"    {d}" for d in entry.get("diff", "").splitlines()]
    unused = [] if allow_unused else report.get("unused", [])
    section(unused, "unused interaction")
    lines += [f"  {_interaction(u)}" for u in unused]
    errors = [f for f in report.get("findings", []) if f.get("level") == "error"]
    section(errors, "validation error")
    lines += [f"  {_finding(f)}" for f in errors]
    never = list(_never_fired(report.get("fault_plan", {})))
    section(never, "fault rule that never fired", "fault rules that never fired")
    lines += [f"  {rule}" for rule in never]
    not_listed = report.get("summary", {}).get("not_listed", 0)
    if not_listed:
        counts.append(f"{not_listed} more unmatched requests or findings not listed")
    if not counts:
        return None
    return "\n".join([f"tailtape replay: {', '.join(counts)}", *lines])


def _never_fired(account: Mapping[str, Any], session: str | None = None):
    """The rules of a fault account (and of its sessions' plans) that never fired, as lines."""
    for rule in account.get("rules", []):
        if rule.get("never_fired"):
            name = f" ({rule['name']})" if rule.get("name") else ""
            where = f" in session {session}" if session else ""
            yield (
                f"rule {rule['rule']}{name}{where}: {rule['selects']} {rule['when']}: "
                f"{rule['action']} ({rule['selected']} requests selected)"
            )
    for name, part in account.get("sessions", {}).items():
        yield from _never_fired(part, name)


def _interaction(ref: Mapping[str, Any]) -> str:
    return f"{ref['request']} ({ref['cassette']} #{ref['interaction']})"


def _finding(finding: Mapping[str, Any]) -> str:
    where = " ".join(filter(None, [finding["side"], finding.get("pointer")]))
    return (
        f"{finding['cassette']} #{finding['interaction']} {where}: {finding['message']} "
        f"[{finding['rule']}]"
    )
