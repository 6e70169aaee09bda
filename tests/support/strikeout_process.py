"""The strikeout daemon as a process under test: its configuration, starting it, asking it through the
control socket, stopping it. One base for every test that runs the real program: the e2e tests (through
tests/e2e/strikeout_daemon.py, in the testbed's server namespace) and the kernel-label tests that run a
lone daemon in a network namespace of their own (tests/hardening, tests/report).

Python 3 standard library only. What the tests rely on (docs/cli.md, docs/enforcement.md):
`strikeout daemon --config FILE` runs in the foreground and logs to standard error; SIGTERM stops it
cleanly (exit 0); `strikeout status` exits 0 once the control socket answers; each file source logs
`source NAME: reading` once it follows its file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence


class DaemonError(RuntimeError):
    """The daemon or a command against it failed; the message carries its own words."""


def wait_until(what: str, predicate: Callable[[], object], deadline_s: float, interval_s: float = 0.05):
    """Polls `predicate` until it returns something true, and returns that; raises TimeoutError naming
    `what` after `deadline_s` seconds. The interval grows to 0.5 s so long waits do not spin."""
    end = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            raise TimeoutError(f"timed out after {deadline_s:.0f} s waiting for {what}")
        time.sleep(interval_s)
        interval_s = min(interval_s * 1.5, 0.5)


def in_own_network_namespace(script: str, argv: Sequence[str]) -> None:
    """For a kernel-label test run as a script: re-runs `script` with `argv` under `unshare -n` (so the
    daemon's nftables table is never the host's) and exits with its status; inside, brings `lo` up and
    returns. Needs root."""
    if os.geteuid() != 0:
        sys.exit(f"{Path(script).name}: needs root (a network namespace and nftables)")
    if os.environ.get("STRIKEOUT_IN_NETNS") != "1":
        env = dict(os.environ, STRIKEOUT_IN_NETNS="1")
        sys.exit(subprocess.run(["unshare", "-n", sys.executable, script, *argv], env=env,
                                check=False).returncode)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


AUTH_FAILURES_RULE = """\
[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
ban = "20m"
"""


@dataclass
class LogSource:
    """A `[[source]]` of type file."""
    name: str
    path: Path
    format: Optional[str] = None  # None: the daemon's default (auto-detection)


@dataclass
class DaemonConfig:
    """A test configuration, section by section; `text()` writes it. Everything the daemon writes goes
    under `state_dir` (the database, the control socket)."""
    state_dir: Path
    rules: str = AUTH_FAILURES_RULE
    sources: list[LogSource] = field(default_factory=list)
    head: str = ""            # TOML before the rules: [protect], [allow] ...
    table: Optional[str] = None
    enforce: str = ""         # more `[enforce]` keys, one per line (needs `table`)
    metrics: str = "off"
    extra: str = ""           # appended: more sections ([wire], [decoy] ...)
    comment: str = ""
    control_socket: Optional[Path] = None  # None: control.sock in the state directory

    @property
    def socket(self) -> Path:
        return self.control_socket or self.state_dir / "control.sock"

    def text(self) -> str:
        parts = [f"# {self.comment}\n" if self.comment else "", self.head, self.rules]
        for s in self.sources:
            fmt = f'format = "{s.format}"\n' if s.format else ""
            parts.append(f'\n[[source]]\ntype = "file"\nname = "{s.name}"\npath = "{s.path}"\n{fmt}')
        if self.table is not None:
            parts.append(f'\n[enforce]\ntable = "{self.table}"\n{self.enforce}')
        parts.append(f'\n[state]\npath = "{self.state_dir / "state.db"}"\n'
                     f'\n[control]\nsocket = "{self.socket}"\n'
                     f'\n[metrics]\nlisten = "{self.metrics}"\n')
        parts.append(self.extra)
        return "".join(parts)


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        text = []
    return "\n".join(text[-lines:]) if text else f"({path} is empty or missing)"


class DaemonProcess:
    """`strikeout daemon --config CONFIG`, run as `prefix + [program, ...]` (e.g. `ip netns exec NS`),
    its standard error appended to `log`. `socket` is its control socket, for `cli()`."""

    def __init__(self, program: Path, config_path: Path, log: Path, socket: Path,
                 prefix: Sequence[str] = (), **popen_kwargs):
        self.program = program
        self.config_path = config_path
        self.log = log
        self.socket = socket
        self.prefix = list(prefix)
        self.popen_kwargs = popen_kwargs
        self.process: Optional[subprocess.Popen] = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop(check=False)

    def write_config(self, config: DaemonConfig, make_state_dir: bool = True) -> None:
        """Writes `config` to the config path; with `make_state_dir`, makes its state directory first
        (a test of the daemon making it says no)."""
        if make_state_dir:
            config.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config.text())

    def start(self, ready: Optional[Callable[[], object]] = None, what: str = "its control socket",
              deadline_s: float = 30) -> None:
        """Starts the daemon and waits until `ready()` holds (by default: `strikeout status` answers).
        A daemon that exits meanwhile is an error with the end of its log."""
        assert self.process is None or self.process.poll() is not None, "already running"
        ready = ready or (lambda: self.cli("status").returncode == 0)
        with open(self.log, "a") as err:
            self.process = subprocess.Popen(
                [*self.prefix, str(self.program), "daemon", "--config", str(self.config_path)],
                stdout=subprocess.DEVNULL, stderr=err, **self.popen_kwargs)

        def started():
            if self.process.poll() is not None:
                raise DaemonError(f"strikeout daemon exited {self.process.returncode} at start:\n"
                                  f"{tail(self.log)}")
            return ready()
        try:
            wait_until(f"strikeout daemon to start ({what})", started, deadline_s)
        except TimeoutError:
            self.stop(check=False)
            raise

    def stop(self, check: bool = True, deadline_s: float = 20) -> Optional[int]:
        """SIGTERM and wait; returns the exit code. With `check`, anything but 0 is an error; a daemon
        that does not stop in time is killed and reported with where it was stuck."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(deadline_s)
        except subprocess.TimeoutExpired:
            where = self.where_stuck()
            self.process.kill()
            self.process.wait()
            raise DaemonError(f"strikeout daemon did not stop within {deadline_s:.0f} s of SIGTERM; where it "
                              f"was:\n{where}\n{tail(self.log)}")
        if check and code != 0:
            raise DaemonError(f"strikeout daemon exited {code} on SIGTERM:\n{tail(self.log)}")
        return code

    @property
    def pid(self) -> int:
        return self.process.pid

    def not_running(self) -> Optional[str]:
        """None while the daemon runs; else why not (its exit code and the end of its log)."""
        if self.process is None:
            return "the daemon was never started"
        code = self.process.poll()
        if code is None:
            return None
        return f"the daemon is not running (exit code {code}); its log ends:\n{tail(self.log, 5)}"

    def where_stuck(self) -> str:
        """For a daemon that does not stop: each of its threads' state and kernel wait channel, its child
        processes, and (when gdb is installed) every thread's backtrace."""
        pid = self.process.pid
        out = []
        for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
            try:
                status = dict(line.split(":\t", 1) for line in (task / "status").read_text().splitlines()
                              if ":\t" in line)
                out.append(f"thread {task.name} {status.get('Name', '?').strip()}: "
                           f"{status.get('State', '?').strip()}, waiting in {(task / 'wchan').read_text()}")
            except OSError:
                continue
        children = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid,stat,wchan:32,comm"],
                                  capture_output=True, text=True, check=False)
        out.append("children:\n" + children.stdout.strip())
        if shutil.which("gdb"):
            bt = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt 12"],
                                capture_output=True, text=True, check=False, timeout=60)
            out.append("\n".join(line for line in bt.stdout.splitlines() if line.startswith(("#", "Thread"))))
        return "\n".join(out)

    # -- what it says --

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """`strikeout ARGS --socket SOCKET` (the CLI needs no namespace: the socket is a file)."""
        return subprocess.run([str(self.program), *args, "--socket", str(self.socket)], capture_output=True,
                              text=True, timeout=timeout, check=False)

    def cli_json(self, *args: str) -> dict:
        p = self.cli(*args, "--json")
        if p.returncode != 0:
            raise DaemonError(f"strikeout {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
        return json.loads(p.stdout)

    def status(self) -> dict:
        """`strikeout status --json`, parsed."""
        return self.cli_json("status")

    def explain(self, address: str) -> dict:
        """`strikeout explain ADDRESS --json`, parsed."""
        return self.cli_json("explain", address)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self.log_text().splitlines() if needle in line]
