"""The `tailtape_emulate` fixture as a user meets it, through `pytester`: a test module with no
cassette, run by pytest with the plugin installed and the real `tailtape` binary. Each check
asserts what that user would see: the outcome of their test and the lines pytest prints.
"""

import subprocess
import textwrap

import pytest
from pytest_tailtape import emulate_problems, find_binary

REQUESTS = """
import json, urllib.error, urllib.request
import pytest

def call(base, method, path, body=None, headers=None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer tskey-x", "Content-Type": "application/json",
                 **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)
"""


@pytest.fixture
def user(pytester):
    """A user's project: a helper `call` in each test module, an empty `cassettes/`."""
    pytester.mkdir("cassettes")

    def write(body):
        pytester.makepyfile(test_user=REQUESTS + textwrap.dedent(body))
        return pytester

    return write


def test_a_test_changes_the_example_tailnet_and_passes(user):
    result = user(
        """
        def test_rename(tailtape_emulate):
            url = tailtape_emulate.url
            path = "/api/v2/device/n5SUKe8CNTRL"
            assert call(url, "GET", path)[1]["hostname"] == "pangolin"
            assert call(url, "POST", path + "/name", {"name": "gateway"})[0] == 200
            assert call(url, "GET", path)[1]["name"].startswith("gateway.")
            assert tailtape_emulate.report()["summary"]["requests"] == 3
        """
    ).runpytest()
    result.assert_outcomes(passed=1)


def test_each_test_starts_from_the_seed_and_sessions_and_reset_keep_tailnets_apart(user):
    result = user(
        """
        PATH = "/api/v2/device/nK7Pq3aCNTRL"

        def test_delete(tailtape_emulate):
            url, alone = tailtape_emulate.url, tailtape_emulate.session("alone")
            assert call(url, "DELETE", PATH)[0] == 200
            assert call(url, "GET", PATH)[0] == 404
            assert call(url, "GET", PATH, headers=alone)[0] == 200
            assert call(url, "DELETE", PATH, headers=alone)[0] == 200
            tailtape_emulate.reset("alone")
            assert call(url, "GET", PATH, headers=alone)[0] == 200
            assert call(url, "GET", PATH)[0] == 404
            tailtape_emulate.reset()
            assert call(url, "GET", PATH)[0] == 200

        def test_then_it_is_back(tailtape_emulate):
            assert call(tailtape_emulate.url, "GET", PATH)[0] == 200
        """
    ).runpytest()
    result.assert_outcomes(passed=2)


def test_a_request_that_breaks_the_contract_fails_the_test_at_teardown(user):
    # The test accepts the 400: only the plugin can notice.
    result = user(
        """
        def test_rename(tailtape_emulate):
            path = "/api/v2/device/n5SUKe8CNTRL/name"
            assert call(tailtape_emulate.url, "POST", path, {"name": 5})[0] == 400
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_rename*",
            "*tailtape emulate: 1 validation error",
            "*validation errors:",
            '*  setDeviceName request /name: 5 is not of type "string" [[]type]',
        ]
    )


def test_a_seed_on_the_marker_is_the_tailnet_and_a_bad_one_names_its_place(user, pytester):
    # An empty tailnet: what `tailtape seed` prints for no cassettes.
    empty = subprocess.run(
        [find_binary(), "seed", str(pytester.mkdir("none"))],
        capture_output=True,
        check=True,
        timeout=30,
    )
    (pytester.path / "cassettes/mine.json").write_bytes(empty.stdout)
    (pytester.path / "cassettes/broken.json").write_text('{"name": "x",\n  "devices": [}\n')
    result = user(
        """
        @pytest.mark.tailtape(seed="mine.json")
        def test_mine(tailtape_emulate):
            assert call(tailtape_emulate.url, "GET", "/api/v2/tailnet/-/devices") == (
                200, {"devices": []})

        @pytest.mark.tailtape(seed="broken.json")
        def test_broken(tailtape_emulate):
            pass
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*tailtape emulate exited with code 2 before serving:", "*cassettes/broken.json:2:15: *"]
    )
    result.stdout.no_fnmatch_line("*During handling*")


def test_a_marker_with_cassettes_or_unknown_options_says_what_emulate_takes(user):
    result = user(
        """
        @pytest.mark.tailtape("routes.json", strict=True)
        def test_routes(tailtape_emulate):
            pass
        """
    ).runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*tailtape_emulate serves no cassettes: its @pytest.mark.tailtape takes seed=, "
            "faults= and enforce=; not 'routes.json', strict=*"
        ]
    )


def test_a_fault_plan_on_the_marker_fires_and_one_that_never_fires_fails(user):
    result = user(
        """
        PLAN = {"rules": [{"operation": "listTailnetDevices", "first": 1, "status": 429}]}

        @pytest.mark.tailtape(faults=PLAN)
        def test_fired(tailtape_emulate):
            assert call(tailtape_emulate.url, "GET", "/api/v2/tailnet/-/devices")[0] == 429
            assert call(tailtape_emulate.url, "GET", "/api/v2/tailnet/-/devices")[0] == 200

        @pytest.mark.tailtape(faults=PLAN)
        def test_never(tailtape_emulate):
            pass
        """
    ).runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_never*", "*tailtape emulate: 1 fault rule that never fired"]
    )


def test_emulator_faults_in_any_session_are_listed_first():
    finding = {
        "cassette": "<live>",
        "interaction": 3,
        "operation": "getDevice",
        "side": "response",
        "level": "error",
        "rule": "required",
        "pointer": "",
        "message": '"id" is a required property',
    }
    report = {
        "summary": {"not_listed": 0},
        "findings": [],
        "faults": [],
        "sessions": {"a": {"findings": [], "faults": [finding], "summary": {"not_listed": 2}}},
    }
    assert emulate_problems(report) == "\n".join(
        [
            "tailtape emulate: 1 emulator fault, 2 more findings not listed",
            "emulator faults:",
            '  getDevice response (session a): "id" is a required property [required]',
        ]
    )
    assert emulate_problems({"findings": [dict(finding, level="warning")], "faults": []}) is None
