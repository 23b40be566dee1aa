"""Run ``offpcc-pl`` in a fresh process without paying for its imports each time.

Every CLI test used to start ``python -m offpcc_pl``: about 5 s of importing torch and
Lightning before the command ran, some 50 times a test session. A server process imports
them once; each command then runs in a child forked from it, so it still gets a process of
its own (its exit code, signals, file descriptors 1 and 2 with the C libraries' output, its
atexit handlers), as the console script gives. The server never runs a torch op or touches
CUDA before forking.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_SERVER = r"""
import atexit, json, os, sys, traceback
import offpcc_pl.cli, offpcc_pl.lightning_cli  # the slow imports, once

for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the command's process
        code = 1
        try:
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            for fd, path, flags in (
                (0, os.devnull, os.O_RDONLY),
                (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            ):
                opened = os.open(path, flags)
                os.dup2(opened, fd)
                os.close(opened)
            sys.stdin = open(os.devnull)
            sys.argv = ["offpcc-pl", *request["args"]]
            offpcc_pl.cli.main()  # reads sys.argv, as the console script does
            code = 0
        except SystemExit as stop:  # as the interpreter maps sys.exit(...) to a status
            if stop.code is None or isinstance(stop.code, int):
                code = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), flush=True)
"""


class ForkServer:
    """One warm process that runs commands one at a time, each in its own forked child."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        """``env``: the server's environment while it imports (each command gets its own)."""
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER], cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, bufsize=0,
        )  # fmt: skip

    def _read_line(self, timeout: float) -> str | None:
        """The server's next line, or None after ``timeout`` seconds."""
        line, deadline = b"", time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        os.set_blocking(fd, False)
        while not line.endswith(b"\n"):
            try:
                chunk = os.read(fd, 1)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.01)
                continue
            if not chunk:
                raise RuntimeError("the CLI fork server died (its stderr is above)")
            line += chunk
        return line.decode()

    def run(
        self, args: list[str], cwd: Path, env: dict, timeout: float
    ) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            request = {
                "args": args,
                "cwd": str(cwd),
                "env": env,
                "stdout": str(out),
                "stderr": str(err),
            }
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            pid = self._read_line(timeout)  # the first one waits for the server's imports
            if pid is None:
                self._proc.kill()
                raise subprocess.TimeoutExpired(["offpcc-pl", *args], timeout)
            status = self._read_line(timeout)
            if status is None:
                os.kill(int(pid), 9)
                self._read_line(60)
                raise subprocess.TimeoutExpired(["offpcc-pl", *args], timeout)
            return subprocess.CompletedProcess(
                ["offpcc-pl", *args], int(status), out.read_text(), err.read_text()
            )

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=30)
