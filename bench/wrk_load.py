"""Drives a server with wrk (its own process, C, so the load takes little of the cores).

Each request of a list is written to a file, one per line (method, path, one extra
header, body); every wrk thread takes its share of the lines and builds the raw
requests in `init`, with an explicit Host header (`wrk.format` called while the
script loads sends none). `once` stops a thread when its share is used up (each
request sent once: distinct webhooks); otherwise the list is sent round and round.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

THREADS = 2
SCRIPT = r"""
local path, once = "%(requests)s", %(once)s
local counter, threads = 0, {}
local lines = {}
for line in io.lines(path) do lines[#lines + 1] = line end

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests, index, host = {}, 0, "%(host)s"
function init(args)
  local id, total = wrk.thread:get("id"), %(threads)d
  for i, line in ipairs(lines) do
    if (i - 1) %% total == id then
      local method, target, name, value, body =
        line:match("^(%%S+)\t(%%S+)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {Host = host}
      if name ~= "" then headers[name] = value end
      if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
      requests[#requests + 1] = wrk.format(method, target, headers, body)
    end
  end
end

function request()
  index = index + 1
  if index > #requests then
    if once then wrk.thread:stop(); return wrk.format("GET", "/health", {Host = host}) end
    index = 1
  end
  return requests[index]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRK_JSON {\"requests\": %%d, \"duration_us\": %%d, \"p50_us\": %%d, \"p99_us\": %%d, " ..
    "\"non_2xx\": %%d, \"socket_errors\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    header: tuple[str, str] | None = None
    body: bytes = b""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    exhausted: bool = False

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    port: int, requests: list[Request], seconds: float, connections: int, *, once: bool = False
) -> WrkResult:
    """`requests` against 127.0.0.1:`port` for `seconds` over `connections` keep-alive ones."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        lines = Path(tmp) / "requests.tsv"
        with lines.open("w") as out:
            for request in requests:
                name, value = request.header or ("", "")
                if b"\n" in request.body or b"\t" in request.body:
                    raise ValueError("wrk_load sends bodies of one line without tabs")
                out.write(f"{request.method}\t{request.path}\t{name}\t{value}\t")
                out.write(request.body.decode())
                out.write("\n")
        script = Path(tmp) / "load.lua"
        script.write_text(
            SCRIPT
            % {
                "requests": lines,
                "once": "true" if once else "false",
                "host": f"127.0.0.1:{port}",
                "threads": THREADS,
            }
        )
        argv = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
        argv += ["-s", str(script), f"http://127.0.0.1:{port}/"]
        output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    sent = data["requests"]
    return WrkResult(
        requests=sent,
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        exhausted=once and sent >= len(requests),
    )
