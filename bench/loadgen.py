"""A bounded, closed-loop HTTP load generator: `connections` keep-alive connections, each
sending its next request as soon as the previous response is read, for `seconds`.

Uses `wrk` (Debian package; `make bench` installs it when missing) when it is on the
PATH, since it costs the shared 2 cores least; otherwise threads with http.client
keep-alive connections. BENCH_LOADGEN=python|wrk forces one. Only 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

from bench.common import percentile

HOST = "127.0.0.1"

# Counts every response that is not a 200 (wrk itself counts only >= 400: a redirect to
# the login page would pass unseen).
WRK_SCRIPT = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) not_ok = 0 end
response = function(status, headers, body) if status ~= 200 then not_ok = not_ok + 1 end end
done = function(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("not_ok") end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "not_ok": %d,'
    .. ' "timeout": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, bad, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class LoadResult:
    tool: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def tool() -> str:
    forced = os.environ.get("BENCH_LOADGEN")
    if forced:
        return forced
    return "wrk" if shutil.which("wrk") else "python"


def run(port: int, path: str, *, headers: dict[str, str], connections: int, seconds: float) -> LoadResult:
    if tool() == "wrk":
        return _wrk(port, path, headers=headers, connections=connections, seconds=seconds)
    return _python(port, path, headers=headers, connections=connections, seconds=seconds)


def _wrk(port: int, path: str, *, headers: dict[str, str], connections: int, seconds: float) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        args = [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
        ]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        out = subprocess.run([*args, f"http://{HOST}:{port}{path}"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("BENCH-JSON "))
    data = json.loads(line.removeprefix("BENCH-JSON "))
    errors = sum(data[k] for k in ("connect", "read", "write", "not_ok", "timeout"))
    return LoadResult(
        tool="wrk",
        requests=data["requests"] - data["not_ok"],
        errors=errors,
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def _python(port: int, path: str, *, headers: dict[str, str], connections: int, seconds: float) -> LoadResult:
    start = threading.Barrier(connections + 1)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        start.wait()
        mine = latencies[i]
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline[0]:
                break
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
            if ok:
                mine.append(time.perf_counter() - t0)
            else:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    flat = [x for xs in latencies for x in xs]
    return LoadResult(
        tool="python",
        requests=len(flat),
        errors=sum(errors),
        seconds=elapsed,
        p50_ms=percentile(flat, 50) * 1000,
        p99_ms=percentile(flat, 99) * 1000,
    )
