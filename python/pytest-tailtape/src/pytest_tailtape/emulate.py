"""The `tailtape emulate` process behind the `tailtape_emulate` fixture: a stateful fake tailnet
started on a free port with `--report FILE` (and a seed, `--seed`, and a fault plan,
`--faults`), a named session's header, a reset, and the journal it writes on SIGTERM turned
into the text a failed test shows: the emulator's faults (answers that broke the response
schema, each a bug of the emulator) and error findings on requests (the client sent what the
contract refuses), in the default session and in every named one. Starting, stopping and the
fault plan are `ReplayServer`'s; nothing here knows pytest.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_tailtape.server import (
    _DIRECT,
    STOP_TIMEOUT,
    ReplayServer,
    TailtapeError,
    _never_fired,
)

#: The header that gives a client its own copy of the tailnet.
SESSION_HEADER = "tailtape-session"


class EmulateServer(ReplayServer):
    """A running `tailtape emulate --listen 127.0.0.1:0 --report FILE`.

    `url` is its base URL (the API lives under `/api/v2/`); `report()` its journal so far,
    `reset()` puts a session (or every one) back to the seed, `session(name)` the headers that
    give a client the named session's own tailnet."""

    command = "emulate"
    #: Where the emulator writes its journal when it stops (`--report`).
    report_file: Path

    @classmethod
    def start(
        cls,
        binary: str,
        report: os.PathLike | str,
        seed: os.PathLike | str | None = None,
        faults: os.PathLike | str | None = None,
        enforce: bool = False,
    ) -> EmulateServer:
        """Starts the emulator and waits for its first line; raises `TailtapeError` with its own
        message (which names the file, line and column of a bad seed or fault plan) if it exits
        first. It writes its journal to `report` when stopped."""
        arguments = ["--report", os.fspath(report)]
        if seed is not None:
            arguments += ["--seed", os.fspath(seed)]
        if faults is not None:
            arguments += ["--faults", os.fspath(faults)]
        if enforce:
            arguments.append("--enforce")
        server = cls._launch(binary, arguments)
        server.report_file = Path(report)
        return server

    @staticmethod
    def session(name: str) -> dict[str, str]:
        """The headers that make a request part of session `name` (its own tailnet)."""
        return {SESSION_HEADER: name}

    def reset(self, session: str | None = None) -> None:
        """Back to the seed (`POST /__tailtape/reset`): `session` alone, or every session."""
        request = urllib.request.Request(
            f"{self.url}/__tailtape/reset",
            data=b"",
            headers=self.session(session) if session else {},
            method="POST",
        )
        try:
            with _DIRECT.open(request, timeout=STOP_TIMEOUT):
                pass
        except OSError as err:
            raise TailtapeError(f"tailtape emulate at {self.url} did not reset: {err}") from err

    def written_report(self) -> dict[str, Any]:
        """The journal the emulator wrote to its `--report` file when it stopped."""
        try:
            return json.loads(self.report_file.read_text())
        except (OSError, ValueError) as err:
            raise TailtapeError(
                f"tailtape emulate wrote no readable report to {self.report_file} ({err}). Its "
                f"log:\n{self.log()}"
            ) from err


def emulate_problems(report: Mapping[str, Any]) -> str | None:
    """What an emulator's journal shows that fails a test, as text, or `None`: its faults (an
    answer that broke the response schema), error-level findings on requests, and fault-plan
    rules that never fired, in the default session and each named one. The first line counts
    them (pytest's short summary shows it); one line follows for each."""
    faults, errors, dropped = [], [], 0
    for name, part in _sessions(report):
        faults += [_finding(f, name) for f in part.get("faults", [])]
        errors += [
            _finding(f, name) for f in part.get("findings", []) if f.get("level") == "error"
        ]
        dropped += part.get("summary", {}).get("not_listed", 0)
    never = list(_never_fired(report.get("fault_plan", {})))
    counts, lines = [], []
    for entries, what, whats in [
        (faults, "emulator fault", "emulator faults"),
        (errors, "validation error", "validation errors"),
        (never, "fault rule that never fired", "fault rules that never fired"),
    ]:
        if entries:
            counts.append(f"{len(entries)} {what if len(entries) == 1 else whats}")
            lines.append(f"{whats}:")
            lines += [f"  {entry}" for entry in entries]
    if not counts:
        return None
    if dropped:
        counts.append(f"{dropped} more findings not listed")
    return "\n".join([f"tailtape emulate: {', '.join(counts)}", *lines])


def _sessions(report: Mapping[str, Any]):
    yield None, report
    for name, part in report.get("sessions", {}).items():
        yield name, part


def _finding(finding: Mapping[str, Any], session: str | None) -> str:
    """`OPERATION SIDE POINTER (session S): MESSAGE [RULE]`: a live request has no cassette."""
    place = " ".join(
        filter(None, [finding.get("operation"), finding.get("side"), finding.get("pointer")])
    )
    in_session = f" (session {session})" if session else ""
    return f"{place}{in_session}: {finding.get('message')} [{finding.get('rule')}]"
