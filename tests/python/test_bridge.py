"""The bridge's protocol, from the Python side (the Pester tests drive it from pwsh)."""

import json
import time

from dirsync import bridge, config


def wait(call_id):
    events = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reply = json.loads(bridge.poll(call_id, 0.1))
        events += reply["events"]
        if reply["done"]:
            return reply, events
    raise AssertionError("the call did not finish")


def test_a_command_returns_its_result_and_its_events(tmp_path):
    config.save(config.Configuration(), tmp_path)
    reply, events = wait(bridge.start("get-configuration", json.dumps({"home": str(tmp_path)})))
    assert reply["result"]["sync"]["intervalMinutes"] == 180
    assert any(e["kind"] == "verbose" and str(tmp_path) in e["message"] for e in events)


def test_a_core_error_comes_back_as_data(tmp_path):
    reply, _ = wait(bridge.start("get-configuration", json.dumps({"home": str(tmp_path)})))
    assert reply["error"]["errorId"] == "DirSync.NotConfigured"
    assert reply["error"]["category"] == "ObjectNotFound"


def test_an_unknown_command_or_bad_json_is_an_error_not_a_crash():
    reply, _ = wait(bridge.start("no-such-command", "{}"))
    assert reply["error"]["errorId"] == "DirSync.InvalidArgument"
    assert "get-configuration" in reply["error"]["fix"]
    reply, _ = wait(bridge.start("get-configuration", "{not json"))
    assert reply["error"]["errorId"] == "DirSync.UnexpectedError"


def test_cancel_stops_a_running_call():
    bridge.COMMANDS["test-slow"] = f"{__name__}:_slow"
    try:
        call_id = bridge.start("test-slow", "{}")
        call = bridge._calls[call_id]
        bridge.cancel(call_id)
        call.thread.join(timeout=10)
        assert not call.thread.is_alive()  # the core saw the cancellation and stopped
        assert call.outcome["error"]["errorId"] == "DirSync.Stopped"
        assert call_id not in bridge._calls  # nothing left behind for a call nobody polls
    finally:
        del bridge.COMMANDS["test-slow"]


def _slow(events):
    while True:
        events.check_cancelled()
        time.sleep(0.01)
