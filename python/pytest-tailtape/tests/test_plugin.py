"""The plugin as a user meets it, through `pytester`: a test module with a cassette next to it,
run by pytest with the plugin installed and the real `tailtape` binary (from `TAILTAPE` or
PATH, as the plugin finds it). Each check asserts what that user would see: the outcome of
their test and the lines pytest prints.
"""

import json
import socket
import textwrap

import pytest
from pytest_tailtape import find_binary

ROUTES = "/api/v2/device/n5SUKe8CNTRL/routes"


def interaction(path, answer):
    return {
        "request": {
            "method": "GET",
            "path": path,
            "headers": {"authorization": "Bearer <redacted>"},
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "json": answer,
        },
    }


CASSETTE = {
    "tailtape": 1,
    "recorded": {"at": "2026-11-23T10:00:00Z", "upstream": "docs", "by": "tailtape 0.1.0"},
    "interactions": [
        interaction(ROUTES, {"advertisedRoutes": ["10.0.0.0/16"], "enabledRoutes": []}),
        interaction(
            "/api/v2/device/nK7Pq3aCNTRL/routes",
            {"advertisedRoutes": [], "enabledRoutes": []},
        ),
    ],
}

GET = """
import json, urllib.error, urllib.request
import pytest

def get(base, path):
    request = urllib.request.Request(base + path, headers={"Authorization": "Bearer tskey-x"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)
"""


@pytest.fixture
def user(pytester):
    """A user's project: `cassettes/routes.json` and a helper `get` in each test module."""
    pytester.mkdir("cassettes")
    (pytester.path / "cassettes/routes.json").write_text(json.dumps(CASSETTE, indent=2))

    def write(body):
        pytester.makepyfile(test_user=GET + textwrap.dedent(body))
        return pytester

    return write


def test_a_test_that_asks_for_every_recording_passes(user):
    result = user(
        """
        @pytest.mark.tailtape("routes.json")
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes") == (
                200, {"advertisedRoutes": ["10.0.0.0/16"], "enabledRoutes": []})
            assert get(tailtape_replay.url, "/api/v2/device/nK7Pq3aCNTRL/routes")[0] == 200
            assert tailtape_replay.report()["summary"]["matched"] == 2
        """
    ).runpytest()
    result.assert_outcomes(passed=1)


def test_an_unmatched_request_fails_the_test_with_the_nearest_recording(user):
    # The test swallows the 501: only the plugin can notice.
    result = user(
        """
        @pytest.mark.tailtape("routes.json", allow_unused=True)
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/nOther/routes")[0] == 501
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_routes*",
            "*tailtape replay: 1 unmatched request",
            "*unmatched requests:",
            "*  GET /api/v2/device/nOther/routes: no recorded request matches; "
            "nearest recorded: GET /api/v2/device/*/routes (*routes.json #*)",
            "*    -GET /api/v2/device/*/routes",
            "*    +GET /api/v2/device/nOther/routes",
        ]
    )
    result.stdout.no_fnmatch_line("*unused interaction*")
    result.stdout.fnmatch_lines(["*ERROR test_user.py::test_routes - Failed: tailtape replay: 1*"])


def test_unused_interactions_are_listed_and_fail_the_test(user):
    result = user(
        """
        @pytest.mark.tailtape("routes.json")
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 200
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*tailtape replay: 1 unused interaction",
            "*unused interactions:",
            "*  GET /api/v2/device/nK7Pq3aCNTRL/routes (*cassettes/routes.json #1)",
        ]
    )
    result.stdout.no_fnmatch_line("*unmatched request*")


def test_allow_unused_lets_recordings_go_unrequested(user):
    result = user(
        """
        @pytest.mark.tailtape("routes.json", allow_unused=True)
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 200
        """
    ).runpytest()
    result.assert_outcomes(passed=1)


def test_a_failing_test_also_lists_what_the_server_did_not_match(user):
    result = user(
        """
        @pytest.mark.tailtape("routes.json", allow_unused=True)
        def test_routes(tailtape_replay):
            status, answer = get(tailtape_replay.url, "/api/v2/device/nOther/routes")
            assert status == 200, answer["message"].splitlines()[0]
        """
    ).runpytest()
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*tailtape replay: 1 unmatched request", "*  GET /api/v2/device/nOther/routes: *"]
    )


def test_a_recorded_answer_that_breaks_the_schema_fails_the_test(user, pytester):
    broken = json.loads(json.dumps(CASSETTE))
    broken["interactions"][0]["response"]["json"]["advertisedRoutes"] = "10.0.0.0/16"
    (pytester.path / "cassettes/routes.json").write_text(json.dumps(broken))
    result = user(
        """
        @pytest.mark.tailtape("routes.json", allow_unused=True)
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 200
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*tailtape replay: 1 validation error",
            "*validation errors:",
            "*  *cassettes/routes.json #0 response /advertisedRoutes: *not of type*array* [[]type]",
        ]
    )


def test_the_server_is_stopped_at_teardown(user, tmp_path):
    seen = tmp_path / "url"
    result = user(
        f"""
        @pytest.mark.tailtape("routes.json", allow_unused=True)
        def test_routes(tailtape_replay):
            open({str(seen)!r}, "w").write(tailtape_replay.url)
        """
    ).runpytest()
    result.assert_outcomes(passed=1)
    host, port = seen.read_text().removeprefix("http://").split(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5)


def test_a_server_that_dies_during_the_test_is_reported_with_its_log(user):
    result = user(
        """
        import os, signal

        @pytest.mark.tailtape("routes.json")
        def test_routes(tailtape_replay):
            os.kill(tailtape_replay.pid, signal.SIGKILL)
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*tailtape replay at http://127.0.0.1:* did not give its report (*). Its log:"]
    )


def test_the_report_is_read_past_a_proxy_set_in_the_environment(user, monkeypatch):
    # A CI runner's proxy (here a closed port) must not come between the plugin and its server.
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    result = user(
        """
        @pytest.mark.tailtape("routes.json")
        def test_routes(tailtape_replay):
            pass
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*tailtape replay: 2 unused interactions"])


def test_each_test_gets_its_own_server_and_sequence(user):
    result = user(
        """
        @pytest.mark.tailtape("routes.json", allow_unused=True)
        @pytest.mark.parametrize("run", [1, 2])
        def test_routes(tailtape_replay, run):
            assert tailtape_replay.report()["summary"]["requests"] == 0
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 200
        """
    ).runpytest()
    result.assert_outcomes(passed=2)


def test_the_cassette_dir_fixture_and_a_module_marker_choose_the_cassettes(user, pytester):
    pytester.mkdir("elsewhere")
    (pytester.path / "elsewhere/routes.json").write_text(json.dumps(CASSETTE))
    (pytester.path / "cassettes/routes.json").unlink()
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def tailtape_cassette_dir(request):
            return request.path.parent / "elsewhere"
        """
    )
    result = user(
        """
        pytestmark = pytest.mark.tailtape("routes.json", allow_unused=True)

        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 200
        """
    ).runpytest()
    result.assert_outcomes(passed=1)


def test_a_test_without_the_marker_is_told_how_to_choose_cassettes(user):
    result = user(
        """
        def test_routes(tailtape_replay):
            pass
        """
    ).runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*tailtape_replay needs the cassettes to serve: mark the test (or its module or "
            'class) with @pytest.mark.tailtape("users.json", ...), paths relative to '
            "tailtape_cassette_dir (*cassettes)*"
        ]
    )


def test_an_unknown_marker_argument_is_an_error(user):
    result = user(
        """
        @pytest.mark.tailtape("routes.json", allow_unsued=True)
        def test_routes(tailtape_replay):
            pass
        """
    ).runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.tailtape takes cassette paths, allow_unused= and faults=; not allow_unsued*"]
    )


def test_a_fault_plan_on_the_marker_is_served_and_its_account_read(user):
    result = user(
        """
        PLAN = {"rules": [{"operation": "listDeviceRoutes", "first": 1, "status": 503}]}

        @pytest.mark.tailtape("routes.json", allow_unused=True, faults=PLAN)
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes") == (
                503, {"message": "service unavailable"})
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 200
            assert tailtape_replay.faults()["rules"][0]["fired"] == 1
        """
    ).runpytest()
    result.assert_outcomes(passed=1)


def test_a_fault_rule_that_never_fired_fails_the_test(user):
    result = user(
        """
        PLAN = {"rules": [
            {"name": "outage", "operation": "listDeviceRoutes", "first": 1, "status": 503},
            {"operation": "listTailnetDevices", "first": 1, "status": 429, "retry_after": 1},
        ]}

        @pytest.mark.tailtape("routes.json", allow_unused=True, faults=PLAN)
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 503
        """
    ).runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*tailtape replay: 1 fault rule that never fired",
            "*fault rules that never fired:",
            "*  rule 2: listTailnetDevices first 1: 429 Retry-After: 1 (0 requests selected)",
        ]
    )


def test_a_bad_fault_plan_fails_with_tailtapes_message_naming_the_place(user, pytester):
    (pytester.path / "cassettes/plan.json").write_text('{"rules": [\n  {"operation": "nope"}]}')
    result = user(
        """
        @pytest.mark.tailtape("routes.json", faults="plan.json")
        def test_routes(tailtape_replay):
            pass
        """
    ).runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*tailtape replay exited with code 2 before serving:", "*cassettes/plan.json:2:3: *"]
    )


def test_a_bad_cassette_fails_with_tailtapes_message_naming_the_place(user, pytester):
    (pytester.path / "cassettes/broken.json").write_text('{"tailtape": 1,\n  "interactions": [}\n')
    result = user(
        """
        @pytest.mark.tailtape("broken.json")
        def test_routes(tailtape_replay):
            pass
        """
    ).runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*tailtape replay exited with code 2 before serving:",
            "*cassettes/broken.json:2:*",
        ]
    )


def test_a_missing_binary_says_what_to_do(user, pytester, monkeypatch, tmp_path):
    monkeypatch.delenv("TAILTAPE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = user(
        """
        @pytest.mark.tailtape("routes.json")
        def test_routes(tailtape_replay):
            pass
        """
    ).runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*tailtape is not on PATH and TAILTAPE is not set: install it (`cargo install "
            "--path .` in the tailtape repository puts it on PATH) or set TAILTAPE to the "
            "binary (e.g. TAILTAPE=target/debug/tailtape after `cargo build`)*"
        ]
    )


def test_a_wrong_tailtape_variable_is_named(user, monkeypatch, tmp_path):
    monkeypatch.setenv("TAILTAPE", str(tmp_path / "no-such-tailtape"))
    result = user(
        """
        @pytest.mark.tailtape("routes.json")
        def test_routes(tailtape_replay):
            pass
        """
    ).runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*TAILTAPE={tmp_path}/no-such-tailtape is not an executable*"])


def test_the_binary_is_found_on_path_without_the_variable(user, monkeypatch):
    monkeypatch.setenv("PATH", str(find_binary().rpartition("/")[0]))
    monkeypatch.delenv("TAILTAPE", raising=False)
    result = user(
        """
        @pytest.mark.tailtape("routes.json", allow_unused=True)
        def test_routes(tailtape_replay):
            assert get(tailtape_replay.url, "/api/v2/device/n5SUKe8CNTRL/routes")[0] == 200
        """
    ).runpytest()
    result.assert_outcomes(passed=1)
