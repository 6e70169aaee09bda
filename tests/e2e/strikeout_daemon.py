"""The strikeout daemon inside a testbed's server namespace: finding the program, writing its
configuration, starting, stopping and reading it.

What the e2e tests rely on (the daemon's interface, as issue 3 and docs/enforcement.md define it):
- `strikeout --help` lists the `daemon` command; `strikeout daemon --config FILE` runs in the foreground
  and logs to standard error; SIGTERM stops it cleanly (exit 0) and leaves the bans in the kernel.
- Its nftables table is `inet strikeout` (`[enforce] table`), with banned addresses in the sets whose
  names start with `ban` (`ban4`, `ban6`, `ban4_24` ...), each element with its own kernel timeout.
- Each file source logs `source NAME: reading` once it follows its file (start-up is done).
- Bans are logged as `SMTP_AUTH_REJECTED: Go AWAY: SRC=ADDRESS ... rule=RULE`, strikes as
  `SMTP_AUTH_FAIL: Strike N: SRC=ADDRESS rule=RULE` (the recipe's words).
The tests read the kernel sets and the mail server's own logs for their verdicts; the daemon's log is
printed with a failure to show why.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Optional

import testbed
from testbed import Testbed, wait_until

REPO = Path(__file__).resolve().parents[2]
TABLE = "strikeout"
ALLOWLISTED = "10.203.77.7"      # on the test configuration's allowlist; tests add it to the attacker


def binary() -> Optional[Path]:
    """The strikeout program: $STRIKEOUT_BIN (CTest sets it to the build's own), else the first of
    build/release, build/dev that exists."""
    env = os.environ.get("STRIKEOUT_BIN")
    if env:
        return Path(env) if Path(env).is_file() else None
    for preset in ("release", "dev"):
        p = REPO / "build" / preset / "strikeout"
        if p.is_file():
            return p
    return None


def missing() -> Optional[str]:
    """Why the protection tests cannot run (the testbed's prerequisites, no program, or a program without
    the `daemon` command yet), or None."""
    reason = testbed.missing_prerequisites()
    if reason:
        return reason
    program = binary()
    if program is None:
        return ("strikeout is not built (set STRIKEOUT_BIN, or build the release preset: "
                "cmake --preset release && cmake --build --preset release --target strikeout)")
    helptext = subprocess.run([str(program), "--help"], capture_output=True, text=True, timeout=30)
    if "daemon" not in helptext.stdout + helptext.stderr:
        return f"`{program} --help` lists no `daemon` command yet (issue 3): the protection tests wait for it"
    return None


def config_text(bed: Testbed, *, auth_ban: str = "20m", allow: tuple[str, ...] = (ALLOWLISTED,),
                rules: Optional[str] = None, extra: str = "") -> str:
    """The test configuration: the default rules (3 failures in 20 minutes; a username failing from 5
    addresses within an hour; 6 connections in 60 s), the testbed's two log files as sources, the kernel
    rate limit, and everything the daemon writes kept under the testbed's run directory. `auth_ban` is
    the auth-failures rule's first ban (a short one for the expiry test). `rules` replaces the default
    `[[rule]]` tables (TOML text); `extra` is appended (more sections, e.g. `[decoy]`)."""
    networks = ", ".join(f'"{n}"' for n in ("127.0.0.0/8", *allow))
    state = bed.dir / "strikeout"
    rules = default_rules(auth_ban) if rules is None else rules
    return f"""\
# strikeout e2e test configuration, written by tests/e2e/strikeout_daemon.py for testbed {bed.run_id}.
[protect]
ports = [25, 587]

[allow]
networks = [{networks}]
host_addresses = true

{rules}
[[source]]
type = "file"
name = "postfix"
path = "{bed.postfix_log}"
format = "postfix"

[[source]]
type = "file"
name = "dovecot"
path = "{bed.dovecot_log}"
format = "dovecot"

[logs]
timezone = "local"

[enforce]
table = "{TABLE}"
reject = "reset"
rate_limit = {{ connections = 6, per = "60s" }}

[state]
path = "{state / 'state.db'}"

[control]
socket = "{state / 'control.sock'}"

[metrics]
listen = "off"
{extra}"""


def default_rules(auth_ban: str = "20m") -> str:
    """The default configuration's three rules, with `auth_ban` as the auth-failures rule's first ban."""
    return f"""\
[[rule]]
name = "connection-rate"
on = "connect"
key = "address"
hits = 6
within = "60s"
action = "ban"
ban = "1m"
ban_factor = 2.0
ban_max = "1h"
forget_after = "1h"
extend_on_retry = true

[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
action = "ban"
ban = "{auth_ban}"
ban_factor = 2.0
ban_max = "1w"
forget_after = "1d"
extend_on_retry = true

[[rule]]
name = "username-campaign"
on = "auth-failure"
key = "username"
distinct = "address"
hits = 5
within = "1h"
action = "ban"
ban = "1h"
ban_factor = 2.0
ban_max = "1w"
forget_after = "1d"
"""


class Daemon:
    """`strikeout daemon` in a testbed's server namespace. Its standard error goes to
    log/strikeout.log in the testbed's directory (appended across restarts)."""

    def __init__(self, bed: Testbed, **config):
        self.bed = bed
        self.program = binary()
        self.config_path = bed.dir / "strikeout.toml"
        (bed.dir / "strikeout").mkdir(exist_ok=True)
        self.config_path.write_text(config_text(bed, **config))
        self.log = bed.log_dir / "strikeout.log"
        self.process: Optional[subprocess.Popen] = None

    def __enter__(self) -> "Daemon":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop(check=False)

    def start(self) -> None:
        """Starts the daemon and waits until its table exists and both file sources are being read."""
        assert self.process is None or self.process.poll() is not None, "already running"
        readings_before = self._log_text().count(": reading")
        with open(self.log, "a") as err:
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.bed.server_ns, str(self.program), "daemon", "--config",
                 str(self.config_path)], stdout=subprocess.DEVNULL, stderr=err)

        def ready():
            if self.process.poll() is not None:
                raise testbed.TestbedError(f"strikeout daemon exited {self.process.returncode} at start:\n"
                                           f"{self.bed.tail(self.log)}")
            return (self._log_text().count(": reading") >= readings_before + 2
                    and self.bed.nft_json("list", "table", "inet", TABLE))
        wait_until("strikeout daemon to start (its table and `source ...: reading` for both logs)", ready, 30)

    def stop(self, check: bool = True) -> Optional[int]:
        """SIGTERM and wait; returns the exit code. With `check`, anything but 0 is an error."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            where = self.where_stuck()
            self.process.kill()
            self.process.wait()
            raise testbed.TestbedError(f"strikeout daemon did not stop within 20 s of SIGTERM; where it was:\n"
                                       f"{where}\n{self.bed.tail(self.log)}")
        if check and code != 0:
            raise testbed.TestbedError(f"strikeout daemon exited {code} on SIGTERM:\n{self.bed.tail(self.log)}")
        return code

    def not_running(self) -> Optional[str]:
        """None while the daemon this test started runs; else why not (its exit code and the end of its
        log). A daemon that a test did not stop was ended from outside: on this shared machine a
        broad `pkill`/`killall strikeout` of another session ended every test's daemon at once
        (their logs: `signal SIGTERM received` at the same millisecond), and the attacks then met an
        unprotected server (replies 535, 535, 454, 454, 454, 535: Dovecot's growing delay, never a
        ban)."""
        if self.process is None:
            return "the daemon was never started"
        code = self.process.poll()
        if code is None:
            return None
        return f"the daemon is not running (exit code {code}); its log ends:\n{self.bed.tail(self.log, 5)}"

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
        children = testbed.run(["ps", "--ppid", str(pid), "-o", "pid,stat,wchan:32,comm"], check=False)
        out.append("children:\n" + children.stdout.strip())
        if shutil.which("gdb"):
            bt = testbed.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt 12"],
                             check=False, timeout=60)
            out.append("\n".join(line for line in bt.stdout.splitlines() if line.startswith(("#", "Thread"))))
        return "\n".join(out)

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- what it did --

    def banned(self) -> set[str]:
        """Every address or prefix in the table's ban sets now."""
        out: set[str] = set()
        for elements in self.bed.set_elements("inet", TABLE, "ban").values():
            out |= elements
        return out

    def tarpitted(self) -> set[str]:
        """Every address or prefix in the table's tarpit sets now (sent to the decoy, docs/decoy.md)."""
        out: set[str] = set()
        for elements in self.bed.set_elements("inet", TABLE, "tarpit").values():
            out |= elements
        return out

    def table_exists(self) -> bool:
        return bool(self.bed.nft_json("list", "table", "inet", TABLE))

    def wait_banned(self, address: str, deadline_s: float = 60) -> None:
        wait_until(f"{address} in a ban set of inet {TABLE}", lambda: address in self.banned(), deadline_s)

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self._log_text().splitlines() if needle in line]

