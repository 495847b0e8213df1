"""One JSON object per log line, with the request's id."""

from __future__ import annotations

import json


def test_each_request_is_logged_as_json_with_its_id(client, capsys):
    capsys.readouterr()
    client.get("/healthz", headers={"X-Request-ID": "log-test-1"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [entry] = [e for e in lines if e.get("logger") == "portal.request"]
    assert entry["request_id"] == "log-test-1" and entry["level"] == "INFO"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/healthz", 200)
    assert isinstance(entry["duration_ms"], float) and entry["time"].endswith("+00:00")
