"""The pytest side: the `tailtape` marker that names a test's cassettes, the
`tailtape_cassette_dir` fixture they are relative to, the `tailtape_replay` fixture that
serves them for one test, and the `tailtape_emulate` fixture, a stateful fake tailnet with no
cassette (its seed and fault plan from the same marker). At teardown, once the test and every
fixture that depends on it are done, each fixture reads the server's journal, stops the server,
and fails with what it shows (for replay: unmatched requests and unused interactions; for
emulate: emulator faults and error findings). pytest reports a failure in teardown as an error
of that test, and the run fails."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_tailtape.emulate import EmulateServer, emulate_problems
from pytest_tailtape.server import ReplayServer, TailtapeError, find_binary, problems

MARKER = "tailtape"
MARKER_HELP = (
    "tailtape(*cassettes, allow_unused=False, faults=None): the cassette files or folders "
    "(relative to tailtape_cassette_dir) that the tailtape_replay fixture serves; "
    "allow_unused=True lets recorded interactions go unrequested; faults= a fault plan (a dict, "
    "or a file relative to tailtape_cassette_dir) whose every rule must fire. For "
    "tailtape_emulate: tailtape(seed=None, faults=None, enforce=False), no cassettes: seed= a "
    "seed document relative to tailtape_cassette_dir (default: the bundled example tailnet), "
    "enforce=True answers any invalid request with 400"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.fixture
def tailtape_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """The folder that relative cassette paths in `@pytest.mark.tailtape(...)` start from: by
    default `cassettes/` next to the test file. Override it in a conftest.py to change it."""
    return request.path.parent / "cassettes"


@pytest.fixture
def tailtape_replay(
    request: pytest.FixtureRequest, tailtape_cassette_dir: Path
) -> Iterator[ReplayServer]:
    """A `tailtape replay --strict` server of the test's cassettes (see the `tailtape` marker),
    on a free port of 127.0.0.1; `.url` is its base URL, `.report()` its journal so far,
    `.faults()` what its fault plan did and `.set_faults(plan)` replaces the plan."""
    folder = Path(tailtape_cassette_dir)
    cassettes, allow_unused, faults = _marked(request, folder)
    with tempfile.TemporaryDirectory() as scratch:
        plan = _plan_file(faults, folder, Path(scratch))
        try:
            server = ReplayServer.start(find_binary(), cassettes, faults=plan)
        except TailtapeError as err:
            pytest.fail(str(err), pytrace=False)
    try:
        yield server
        try:
            report = server.report()
        finally:
            code = server.stop()
        if code not in (0, 1):
            raise TailtapeError(
                f"tailtape replay exited with code {code} when stopped. Its log:\n{server.log()}"
            )
    except TailtapeError as err:
        pytest.fail(str(err), pytrace=False)
    finally:
        server.close()
    failed = problems(report, allow_unused=allow_unused)
    if failed:
        pytest.fail(failed, pytrace=False)


@pytest.fixture
def tailtape_emulate(
    request: pytest.FixtureRequest, tailtape_cassette_dir: Path
) -> Iterator[EmulateServer]:
    """A `tailtape emulate --report FILE` server on a free port of 127.0.0.1, seeded with the
    marker's `seed=` (default: the bundled example tailnet): `.url` is its base URL,
    `.session(name)` the headers of a session with its own tailnet, `.reset()` goes back to the
    seed, `.report()` is its journal so far. At teardown it is stopped (SIGTERM) and the test
    fails on any emulator fault or error finding in the report it wrote."""
    folder = Path(tailtape_cassette_dir)
    seed, faults, enforce = _emulate_marked(request, folder)
    with tempfile.TemporaryDirectory() as scratch:
        plan = _plan_file(faults, folder, Path(scratch))
        try:
            server = EmulateServer.start(
                find_binary(), Path(scratch) / "emulate-report.json", seed, plan, enforce
            )
        except TailtapeError as err:
            # `from None`: the message says it all; pytest would print it twice otherwise.
            raise pytest.fail.Exception(str(err), pytrace=False) from None
        try:
            yield server
            code = server.stop()
            if code != 0:
                raise TailtapeError(
                    f"tailtape emulate exited with code {code} when stopped. Its log:\n"
                    f"{server.log()}"
                )
            report = server.written_report()
        except TailtapeError as err:
            raise pytest.fail.Exception(str(err), pytrace=False) from None
        finally:
            server.close()
    failed = emulate_problems(report)
    if failed:
        pytest.fail(failed, pytrace=False)


def _emulate_marked(
    request: pytest.FixtureRequest, folder: Path
) -> tuple[Path | None, object, bool]:
    """The `seed`, `faults` and `enforce` of the closest `tailtape` marker, if any."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None, None, False
    unknown = sorted(set(marker.kwargs) - {"seed", "faults", "enforce"})
    if marker.args or unknown:
        given = [repr(a) for a in marker.args] + [f"{k}=" for k in unknown]
        pytest.fail(
            "tailtape_emulate serves no cassettes: its @pytest.mark.tailtape takes seed=, "
            f"faults= and enforce=; not {', '.join(given)}",
            pytrace=False,
        )
    seed = marker.kwargs.get("seed")
    return (
        None if seed is None else folder / seed,
        marker.kwargs.get("faults"),
        bool(marker.kwargs.get("enforce", False)),
    )


def _plan_file(faults, folder: Path, scratch: Path) -> Path | None:
    """The marker's fault plan as a file: a dict written to `scratch`, a path taken relative to
    `folder` (the server reads it, and names its place in any error)."""
    if faults is None:
        return None
    if isinstance(faults, dict):
        path = scratch / "marker-faults.json"
        path.write_text(json.dumps(faults, indent=2))
        return path
    return folder / faults


def _marked(request: pytest.FixtureRequest, folder: Path) -> tuple[list[Path], bool, object]:
    """The cassettes, `allow_unused` and `faults` of the closest `tailtape` marker."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None or not marker.args:
        pytest.fail(
            f"tailtape_replay needs the cassettes to serve: mark the test (or its module or "
            f'class) with @pytest.mark.tailtape("users.json", ...), paths relative to '
            f"tailtape_cassette_dir ({folder})",
            pytrace=False,
        )
    unknown = sorted(set(marker.kwargs) - {"allow_unused", "faults"})
    if unknown:
        pytest.fail(
            "@pytest.mark.tailtape takes cassette paths, allow_unused= and faults=; "
            f"not {', '.join(unknown)}",
            pytrace=False,
        )
    return (
        [folder / c for c in marker.args],
        bool(marker.kwargs.get("allow_unused", False)),
        marker.kwargs.get("faults"),
    )
