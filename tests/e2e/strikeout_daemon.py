"""The strikeout daemon inside a testbed's server namespace, and the test case every e2e class with a
daemon derives from (`DaemonTestCase`). The process itself (start, stop, control socket) is
tests/support/strikeout_process.py, shared with the kernel-label tests.

What the e2e tests rely on (the daemon's interface, as issue 3 and docs/enforcement.md define it):
- `strikeout --help` lists the `daemon` command; `strikeout daemon --config FILE` runs in the foreground
  and logs to standard error; SIGTERM stops it cleanly (exit 0) and leaves the bans in the kernel.
- Its nftables table is `inet strikeout` (`[enforce] table`), with banned addresses in the sets whose
  names start with `ban` (`ban4`, `ban6`, `ban4_24` ...), each element with its own kernel timeout.
- Each file source logs `source NAME: reading` once it follows its file, the wire sensor
  `capturing replies` once its capture runs (start-up is done).
- Bans are logged as `SMTP_AUTH_REJECTED: Go AWAY: SRC=ADDRESS ... rule=RULE`, strikes as
  `SMTP_AUTH_FAIL: Strike N: SRC=ADDRESS rule=RULE` (the recipe's words).
The tests read the kernel sets and the mail server's own logs for their verdicts; the daemon's log is
printed with a failure to show why.
"""

from __future__ import annotations

import os
import subprocess
import unittest
from pathlib import Path
from typing import Optional

import testbed
from strikeout_process import DaemonConfig, DaemonProcess, LogSource
from testbed import Testbed, TestbedCase, wait_until

REPO = Path(__file__).resolve().parents[2]
TABLE = "strikeout"
ALLOWLISTED = "10.203.77.7"      # on the test configuration's allowlist; tests add it to the attacker
THRESHOLD = 3                    # the auth-failures rule: 3 failures within 20 minutes ban the address


def passwords(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:02d}" for i in range(n)]


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


def log_sources(bed: Testbed) -> list[LogSource]:
    """The testbed's two log files as file sources."""
    return [LogSource("postfix", bed.postfix_log, "postfix"), LogSource("dovecot", bed.dovecot_log, "dovecot")]


def config(bed: Testbed, *, auth_ban: str = "20m", allow: tuple[str, ...] = (ALLOWLISTED,),
           rules: Optional[str] = None, extra: str = "", sources: Optional[list[LogSource]] = None,
           ports: tuple[int, ...] = (25, 587), rate_limit: str = '{ connections = 6, per = "60s" }') -> DaemonConfig:
    """The test configuration: the default rules (3 failures in 20 minutes; a username failing from 5
    addresses within an hour; 6 connections in 60 s), the testbed's two log files as sources (or
    `sources`), the kernel rate limit (`rate_limit`, TOML: `false` for none), and everything the daemon
    writes kept under the testbed's run directory. `auth_ban` is the auth-failures rule's first ban (a
    short one for the expiry test). `rules` replaces the default `[[rule]]` tables (TOML text); `extra`
    is appended (more sections, e.g. `[decoy]`, `[wire]`)."""
    networks = ", ".join(f'"{n}"' for n in ("127.0.0.0/8", *allow))
    return DaemonConfig(
        state_dir=bed.dir / "strikeout",
        comment=f"strikeout e2e test configuration, written by tests/e2e for testbed {bed.run_id}.",
        head=(f"[protect]\nports = [{', '.join(map(str, ports))}]\n\n"
              f"[allow]\nnetworks = [{networks}]\nhost_addresses = true\n\n"
              '[logs]\ntimezone = "local"\n\n'),
        rules=default_rules(auth_ban) if rules is None else rules,
        sources=log_sources(bed) if sources is None else sources,
        table=TABLE,
        enforce=f'reject = "reset"\nrate_limit = {rate_limit}\n',
        extra=extra)


CONNECTION_RATE_RULE = """\
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
"""

USERNAME_CAMPAIGN_RULE = """\
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


def auth_failures_rule(ban: str = "20m") -> str:
    """THRESHOLD failures of an address within 20 minutes ban it for `ban`, escalating."""
    return f"""\
[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = {THRESHOLD}
within = "20m"
action = "ban"
ban = "{ban}"
ban_factor = 2.0
ban_max = "1w"
forget_after = "1d"
extend_on_retry = true
"""


def default_rules(auth_ban: str = "20m") -> str:
    """The default configuration's three rules, with `auth_ban` as the auth-failures rule's first ban."""
    return "\n".join((CONNECTION_RATE_RULE, auth_failures_rule(auth_ban), USERNAME_CAMPAIGN_RULE))


class Daemon(DaemonProcess):
    """`strikeout daemon` in a testbed's server namespace, on `config(bed, **options)`. Its standard
    error goes to log/strikeout.log in the testbed's directory (appended across restarts)."""

    def __init__(self, bed: Testbed, **options):
        self.bed = bed
        self.config = config(bed, **options)
        super().__init__(binary(), bed.dir / "strikeout.toml", bed.log_dir / "strikeout.log",
                         self.config.socket, prefix=["ip", "netns", "exec", bed.server_ns])
        self.write_config(self.config)

    def start(self) -> None:
        """Starts the daemon and waits until its table exists, each of its sensors has started (every
        file source `reading`, the wire sensor `capturing replies`) and it has said `strikeout started`."""
        markers = {": reading": len(self.config.sources), "strikeout started": 1}
        if "[wire]" in self.config.extra:
            markers["capturing replies"] = 1
        text = self.log_text()
        before = {m: text.count(m) for m in markers}

        def ready():
            text = self.log_text()
            return (all(text.count(m) >= before[m] + n for m, n in markers.items())
                    and self.bed.nft_json("list", "table", "inet", TABLE))
        super().start(ready, f"its table and {', '.join(f'{n} × `{m}`' for m, n in markers.items())}")

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


class DaemonTestCase(TestbedCase):
    """A fresh testbed with a running daemon for the class: `daemon_config` is passed to Daemon, then
    `attack()` runs (as in TestbedCase). Skipped, with the reason, without the testbed's prerequisites or
    `strikeout daemon`."""
    daemon_config: dict = {}
    daemon: Optional[Daemon] = None

    @classmethod
    def missing(cls) -> Optional[str]:
        return missing()

    @classmethod
    def prepare(cls) -> None:
        cls.daemon = Daemon(cls.bed, **cls.daemon_config)
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.daemon is not None:
                cls.daemon.stop(check=False)
        finally:
            super().tearDownClass()

