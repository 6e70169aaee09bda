"""A real mail server and a real attacker on one machine, in two network namespaces of their own.

    with Testbed() as bed:
        bed.hydra(["123456", "password"])            # Debian's hydra from the attacker's namespace
        print(bed.failed_logins(bed.attacker))       # what the server's own logs say it saw

What it builds (names unique per run, so runs never meet and a crashed run never blocks the next):

- namespaces `so-RUN-srv` (the mail server) and `so-RUN-att` (the attacker), joined by one veth pair:
  the server is 10.203.0.1/16, the attacker 10.203.0.2/16 (`add_attacker_addresses` adds more for pool
  attacks; hydra always uses 10.203.0.2). Nothing is configured in the host's own namespace.
- /run/strikeout-e2e-RUN/ holding everything the servers write: Postfix's own configuration directory
  (`postfix -c DIR`: the host's /etc/postfix is never read or changed), queue and data directories, the
  Dovecot configuration and base_dir, and the logs (`log/postfix.log` through Postfix's `maillog_file`,
  `log/dovecot.log` through Dovecot's `log_path`), no syslog needed.
- Dovecot as the SASL backend only (no protocols), with one user (`USER`/`PASSWORD` below) in a
  passwd-file, and Postfix with plaintext AUTH on 25 and 587 (submission), using Dovecot's auth socket.

Everything is torn down on exit, also when a test fails or setup stops half way: Postfix stopped, Dovecot
killed, every process still in the namespaces ended, the namespaces and the run directory deleted
(`STRIKEOUT_E2E_KEEP=1` keeps the directory, with its logs, for a post-mortem).

Needs root, iproute2, postfix, dovecot-core, hydra, swaks and nftables (scripts/install-deps installs
them); `missing_prerequisites()` says what is missing so a test can skip with the reason.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from strikeout_process import tail as _tail
from strikeout_process import wait_until  # noqa: F401 (the e2e tests import it from here)

USER = "alice"                      # the one mailbox the server knows
PASSWORD = "correct-horse-42"       # its password: never in an attacker's list unless a test wants it
SERVER_ADDRESS = "10.203.0.1"
ATTACKER_ADDRESS = "10.203.0.2"     # the attacker's primary address: hydra's and swaks' default
PREFIX_LENGTH = 16
SUBMISSION_PORT = 587

TOOLS = ("ip", "nft", "postfix", "postconf", "dovecot", "hydra", "swaks")


def missing_prerequisites() -> Optional[str]:
    """Why the testbed cannot run here (not root, a tool missing), or None when it can."""
    if os.geteuid() != 0:
        return "the e2e testbed needs root (network namespaces, Postfix, nftables)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return ("missing " + ", ".join(missing) +
                ": run `scripts/install-deps` as root (it installs the e2e packages)")
    return None


class TestbedError(RuntimeError):
    """Setup or a helper failed; the message names the step and carries the tool's own words."""


def run(cmd: Sequence[str], *, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Runs `cmd`, capturing its output as text; with `check`, a non-zero exit raises TestbedError with
    the command and its output (never a bare CalledProcessError without the tool's words)."""
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise TestbedError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    return p


# --- Running Python code inside a namespace -----------------------------------------------------------
# A network namespace belongs to a thread, not to the process: a thread that calls setns() moves alone,
# and the sockets it creates stay in that namespace for good. So the attackers written in Python run in
# a short-lived thread of the test process, without a subprocess per connection.
_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def in_namespace(namespace: str, fn: Callable, *args, **kwargs):
    """Calls fn(*args, **kwargs) in a new thread that has joined `namespace`, and returns its result
    (or raises its exception). The calling thread never changes namespace."""
    outcome: dict = {}

    def body():
        try:
            fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {namespace}: {os.strerror(err)}")
            finally:
                os.close(fd)
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e

    t = threading.Thread(target=body, name=f"netns-{namespace}")
    t.start()
    t.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def concurrently(*calls: Callable[[], object]) -> list:
    """Runs each zero-argument callable in its own thread and returns their results in order; the first
    exception (in order) is raised after all have finished."""
    results: list = [None] * len(calls)
    errors: list = [None] * len(calls)

    def body(i, c):
        try:
            results[i] = c()
        except BaseException as e:
            errors[i] = e

    threads = [threading.Thread(target=body, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        if e is not None:
            raise e
    return results


# --- What the attackers got -----------------------------------------------------------------------------

@dataclass
class GuessResult:
    """What a client that guesses on ONE connection got."""
    source: str
    replied: int = 0            # AUTH attempts that got a final reply (535, 235, 454 ...)
    codes: list = field(default_factory=list)  # those replies' codes, in order
    cut: bool = False           # the connection ended under it: reset, closed, or silent past the timeout
    cut_reason: str = ""        # what ending it was
    connected: bool = True      # false: it never got the greeting (refused or dropped from the start)


@dataclass
class Failures:
    """Failed logins from one address, as the server's own logs record them. Each failed attempt is
    logged by both: Dovecot (`Password mismatch` / `unknown user`, before its delay) and Postfix
    (`SASL ... authentication failed`, after it), so `attempts` takes the larger count."""
    dovecot: int
    postfix: int
    # Postfix's "Connection lost to authentication server" (454 to the client): Postfix gave up waiting
    # for Dovecot's growing delay (about 10 s). The attempt reached the server but was never judged, so
    # it is not a failed login; it is counted apart.
    lost: int = 0

    @property
    def attempts(self) -> int:
        return max(self.dovecot, self.postfix)


_DOVECOT_FAILURE = re.compile(
    r"auth: (?:Info: )?[a-z-]+\(([^,()]*),([0-9A-Fa-f.:]+)(?:,<[^>]*>)?\): (?:Password mismatch|unknown user)")
_POSTFIX_FAILURE = re.compile(r"\[([0-9A-Fa-f.:]+)\](?::\d+)?: SASL \S+ authentication failed: (.*)$")


def guess_on_one_connection(server: str, port: int, source: str, user: str, passwords: Iterable[str],
                            reply_timeout_s: float = 40.0) -> GuessResult:
    """The attacker that a block on NEW connections never stops: one SMTP connection from `source`,
    then AUTH again and again on it, alternating PLAIN and LOGIN, one password each. Stops at the first
    success (235) or when the connection is cut (reset, closed, or no reply within `reply_timeout_s`,
    which must exceed Dovecot's longest failure delay of 15 s). Call it inside the attacker's namespace
    (`in_namespace`)."""
    result = GuessResult(source=source)
    try:
        smtp = smtplib.SMTP(timeout=reply_timeout_s, source_address=(source, 0))
        smtp.connect(server, port)
        smtp.ehlo("attacker.e2e.test")
    except (OSError, smtplib.SMTPException) as e:
        result.connected = False
        result.cut = True
        result.cut_reason = f"no session: {type(e).__name__}: {e}"
        return result
    try:
        for i, password in enumerate(passwords):
            if i % 2 == 0:
                token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
                code, _ = smtp.docmd("AUTH", "PLAIN " + token)
            else:
                code, _ = smtp.docmd("AUTH", "LOGIN")
                if code == 334:
                    code, _ = smtp.docmd(base64.b64encode(user.encode()).decode())
                if code == 334:
                    code, _ = smtp.docmd(base64.b64encode(password.encode()).decode())
            if code == 421 or code < 0:
                # 421: Postfix ends the session itself (too many errors); -1: smtplib saw EOF.
                result.cut = True
                result.cut_reason = f"server ended the session ({code})"
                break
            result.replied += 1
            result.codes.append(code)
            if code == 235:
                break
    except (OSError, smtplib.SMTPException) as e:
        result.cut = True
        result.cut_reason = f"{type(e).__name__}: {e}"
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.close()
    return result


def smtp_greeting(server: str, port: int, source: Optional[str], timeout_s: float = 5.0) -> Optional[str]:
    """Opens one new connection (from `source` if given) and returns the server's greeting line, or
    None when the connection is refused, reset or unanswered within `timeout_s`. Sends QUIT."""
    try:
        with socket.create_connection((server, port), timeout=timeout_s,
                                      source_address=(source, 0) if source else None) as s:
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    return None
                data += chunk
            with contextlib.suppress(OSError):
                s.sendall(b"QUIT\r\n")
            return data.split(b"\n", 1)[0].decode(errors="replace").strip()
    except OSError:
        return None


# --- The testbed ----------------------------------------------------------------------------------------

class Testbed:
    """Context manager: the two namespaces, Dovecot and Postfix, ready to be attacked (see the module
    docstring). Every helper that runs something in a namespace says which."""

    def __init__(self, name: str = "e2e"):
        self.run_id = secrets.token_hex(3)
        self.name = name
        self.server_ns = f"so-{self.run_id}-srv"
        self.attacker_ns = f"so-{self.run_id}-att"
        self.server_if = f"so{self.run_id}s"
        self.attacker_if = f"so{self.run_id}a"
        self.server = SERVER_ADDRESS
        self.attacker = ATTACKER_ADDRESS
        self.dir = Path(f"/run/strikeout-e2e-{self.run_id}")
        self.postfix_etc = self.dir / "postfix-etc"
        self.spool = self.dir / "spool"
        self.log_dir = self.dir / "log"
        self.postfix_log = self.log_dir / "postfix.log"
        self.dovecot_log = self.log_dir / "dovecot.log"
        self.dovecot_conf = self.dir / "dovecot" / "dovecot.conf"
        self.scratch = self.dir / "scratch"
        self._extra_addresses: list[str] = []
        self._next_extra = 0
        self._dovecot: Optional[subprocess.Popen] = None
        self._cleanup = contextlib.ExitStack()

    # -- lifecycle --

    def __enter__(self) -> "Testbed":
        try:
            self._setup()
        except BaseException:
            self._cleanup.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._cleanup.close()

    def _setup(self) -> None:
        reason = missing_prerequisites()
        if reason:
            raise TestbedError(reason)
        self.dir.mkdir(mode=0o755)
        if os.environ.get("STRIKEOUT_E2E_KEEP") != "1":
            self._cleanup.callback(shutil.rmtree, self.dir, ignore_errors=True)
        for d in (self.postfix_etc, self.spool, self.dir / "data", self.log_dir, self.dovecot_conf.parent,
                  self.scratch):
            d.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.dir / "data", "postfix")
        self._make_network()
        self._start_dovecot()
        self._start_postfix()
        wait_until("Dovecot's auth socket", (self.spool / "private" / "auth").exists, 30)
        # Probed from the server's own namespace (source: its own, allowlisted address), so the probes
        # never count as connections from an attacker's address.
        wait_until(f"Postfix's greeting on {self.server}:{SUBMISSION_PORT}",
                   lambda: (g := in_namespace(self.server_ns, smtp_greeting, self.server, SUBMISSION_PORT, None))
                   and g.startswith("220"), 30)

    def _make_network(self) -> None:
        s, a = self.server_ns, self.attacker_ns
        run(["ip", "netns", "add", s])
        self._cleanup.callback(self._delete_namespace, s)
        run(["ip", "netns", "add", a])
        self._cleanup.callback(self._delete_namespace, a)
        # Both ends are created directly in their namespaces: the host's own namespace never holds them.
        run(["ip", "link", "add", self.server_if, "netns", s, "type", "veth",
             "peer", "name", self.attacker_if, "netns", a])
        run(["ip", "-n", s, "addr", "add", f"{self.server}/{PREFIX_LENGTH}", "dev", self.server_if])
        run(["ip", "-n", a, "addr", "add", f"{self.attacker}/{PREFIX_LENGTH}", "dev", self.attacker_if])
        for ns, ifname in ((s, self.server_if), (a, self.attacker_if)):
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", ns, "link", "set", ifname, "up"])
        # Permanent neighbour entries instead of ARP. The kernel's ARP table is one for all namespaces,
        # with a global limit (net.ipv4.neigh.default.gc_thresh3, 1024): a benchmark elsewhere on the
        # machine that fills it ("neighbour: arp_cache: neighbor table overflow!") left the attacker
        # unable to reach the server, so its connections timed out and tests failed for nothing they
        # test. Permanent entries are exempt from that limit.
        self._server_mac = self._mac(s, self.server_if)
        self._attacker_mac = self._mac(a, self.attacker_if)
        run(["ip", "-n", a, "neigh", "replace", self.server, "lladdr", self._server_mac, "dev", self.attacker_if,
             "nud", "permanent"])
        self._server_knows(self.attacker)

    @staticmethod
    def _mac(ns: str, ifname: str) -> str:
        return json.loads(run(["ip", "-n", ns, "-j", "link", "show", "dev", ifname]).stdout)[0]["address"]

    def _server_knows(self, address: str) -> None:
        """The server's permanent neighbour entry for one of the attacker's addresses (see above)."""
        run(["ip", "-n", self.server_ns, "neigh", "replace", address, "lladdr", self._attacker_mac,
             "dev", self.server_if, "nud", "permanent"])

    def _delete_namespace(self, ns: str) -> None:
        """Ends every process still in `ns` (ours by construction: nothing else ever enters it), then
        deletes it. TERM first, KILL for what is left after a few seconds."""
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            pids = self._namespace_pids(ns)
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            with contextlib.suppress(TimeoutError):
                wait_until(f"processes in {ns} to end", lambda: not self._namespace_pids(ns), grace)
        run(["ip", "netns", "delete", ns], check=False)

    @staticmethod
    def _namespace_pids(ns: str) -> list[int]:
        p = run(["ip", "netns", "pids", ns], check=False)
        return [int(x) for x in p.stdout.split() if x.isdigit()]

    def _start_dovecot(self) -> None:
        base = self.dir / "dovecot"
        passwd = base / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        passwd.chmod(0o644)
        socket_path = self.spool / "private" / "auth"
        self.dovecot_conf.write_text(f"""\
# strikeout e2e testbed: Dovecot as Postfix's SASL backend only. Written by tests/e2e/testbed.py.
protocols =
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
instance_name = strikeout-e2e-{self.run_id}
log_path = {self.dovecot_log}
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_verbose = yes
ssl = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {socket_path} {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
""")
        (base / "state").mkdir(exist_ok=True)
        # The private/ directory is created by `postfix check` below; Dovecot needs it first.
        (self.spool / "private").mkdir(exist_ok=True)
        shutil.chown(self.spool / "private", "postfix", "root")
        (self.spool / "private").chmod(0o700)
        # Foreground (-F): the Popen is Dovecot's master itself (`ip netns exec` execs), so stopping it is
        # one signal to a process we hold, never a search by name.
        self._dovecot = subprocess.Popen(
            ["ip", "netns", "exec", self.server_ns, "dovecot", "-F", "-c", str(self.dovecot_conf)],
            stdout=subprocess.DEVNULL, stderr=open(self.log_dir / "dovecot.stderr", "w"))
        self._cleanup.callback(self._stop_dovecot)

    def _stop_dovecot(self) -> None:
        if self._dovecot and self._dovecot.poll() is None:
            self._dovecot.terminate()
            try:
                self._dovecot.wait(10)
            except subprocess.TimeoutExpired:
                self._dovecot.kill()
                self._dovecot.wait()

    def postconf(self, *settings: str) -> None:
        """`postconf -c DIR -e` on this testbed's own Postfix configuration (never /etc/postfix)."""
        run(["postconf", "-c", str(self.postfix_etc), "-e", *settings])

    def _start_postfix(self) -> None:
        shutil.copy("/etc/postfix/master.cf", self.postfix_etc / "master.cf")
        (self.postfix_etc / "main.cf").write_text(
            "# strikeout e2e testbed: Postfix's own configuration directory (postfix -c). "
            "Written by tests/e2e/testbed.py.\n")
        self.postconf(
            "compatibility_level = 3.6",
            f"queue_directory = {self.spool}",
            f"data_directory = {self.dir / 'data'}",
            "myhostname = mail.e2e.test",
            "mydomain = e2e.test",
            "mydestination =",
            "alias_maps =",
            "alias_database =",
            "inet_interfaces = all",
            "inet_protocols = ipv4",
            # Logs to a file through postlogd: no syslog daemon needed. The prefix list must allow it.
            f"maillog_file = {self.postfix_log}",
            f"maillog_file_prefixes = {self.log_dir}",
            # No reverse DNS of clients: the namespace has no resolver, and every lookup would stall.
            "smtpd_peername_lookup = no",
            "smtpd_sasl_auth_enable = yes",
            "smtpd_sasl_type = dovecot",
            "smtpd_sasl_path = private/auth",
            "smtpd_tls_security_level = none",
            "smtpd_tls_auth_only = no",
            "smtpd_relay_restrictions = permit_sasl_authenticated,reject_unauth_destination",
        )
        # Not chrooted ('n'): a chroot in a queue directory of our own would need copies of /etc files
        # (resolv.conf, localtime) that Debian's init script makes and `postfix start` does not; without
        # localtime a chrooted smtpd would log in UTC. The SASL path is relative to the queue directory
        # either way.
        run(["postconf", "-c", str(self.postfix_etc), "-M",
             "submission/inet=submission inet n - n - - smtpd"])
        # Logged as postfix/submission/smtpd, as Debian's commented-out example and real servers do.
        run(["postconf", "-c", str(self.postfix_etc), "-P", "submission/inet/syslog_name=postfix/submission"])
        run(["postconf", "-c", str(self.postfix_etc), "-M", "smtp/inet=smtp inet n - n - - smtpd"])
        # `postfix check` creates the queue's subdirectories with their owners and modes.
        self._postfix("check")
        self._postfix("start")
        self._cleanup.callback(self._stop_postfix)

    def _postfix(self, verb: str) -> None:
        p = run(["ip", "netns", "exec", self.server_ns, "postfix", "-c", str(self.postfix_etc), verb],
                check=False)
        if p.returncode != 0:
            # postfix(1) reports to syslog, which does not exist here; maillog_file has its words.
            raise TestbedError(f"postfix {verb} exited {p.returncode}: {self.tail(self.postfix_log, 5)}")

    def _stop_postfix(self) -> None:
        pid_file = self.spool / "pid" / "master.pid"
        with contextlib.suppress(TestbedError):
            self._postfix("stop")
        with contextlib.suppress(TimeoutError):
            wait_until("Postfix's master to stop", lambda: not pid_file.exists() or not _alive(pid_file), 10)
        # Anything left is ended with the namespace.

    # -- addresses --

    def add_attacker_addresses(self, count: int) -> list[str]:
        """Adds `count` more addresses to the attacker's veth (10.203.X.Y, never used before in this
        run) and returns them. Clients choose one by binding to it."""
        added = []
        for _ in range(count):
            self._next_extra += 1
            n = self._next_extra
            address = f"10.203.{100 + n // 250}.{1 + n % 250}"
            self.add_attacker_address(address)
            added.append(address)
        return added

    def add_attacker_address(self, address: str) -> str:
        """Adds one given address (in 10.203.0.0/16) to the attacker's veth, and the server's neighbour
        entry for it. Returns it."""
        run(["ip", "-n", self.attacker_ns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", self.attacker_if])
        self._server_knows(address)
        self._extra_addresses.append(address)
        return address

    # -- running things in the namespaces --

    def in_server(self, cmd: Sequence[str], **kw) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.server_ns, *cmd], **kw)

    def in_attacker(self, cmd: Sequence[str], **kw) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.attacker_ns, *cmd], **kw)

    def greeting(self, source: Optional[str] = None, port: int = SUBMISSION_PORT,
                 timeout_s: float = 5.0) -> Optional[str]:
        """One new connection from the attacker's namespace: the server's greeting, or None if refused
        or unanswered."""
        return in_namespace(self.attacker_ns, smtp_greeting, self.server, port, source, timeout_s)

    # -- the attackers --

    def hydra(self, passwords: Sequence[str], user: str = USER, timeout_s: float = 300) -> subprocess.CompletedProcess:
        """Debian's hydra from the attacker's primary address, one task (`-t 1`), against 587 with the
        given password list. Runs in a scratch folder (it writes hydra.restore). Returns the finished
        process (a run cut short by `timeout_s` is killed and returned with returncode None)."""
        work = Path(self.scratch) / f"hydra-{secrets.token_hex(3)}"
        work.mkdir()
        (work / "passwords.txt").write_text("".join(p + "\n" for p in passwords))
        cmd = ["ip", "netns", "exec", self.attacker_ns, "hydra", "-I", "-l", user, "-P", "passwords.txt",
               "-s", str(SUBMISSION_PORT), "-t", "1", f"smtp://{self.server}"]
        try:
            return subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(cmd, None, e.stdout or "", e.stderr or "")

    def swaks(self, password: str, source: Optional[str] = None, user: str = USER) -> subprocess.CompletedProcess:
        """One AUTH LOGIN attempt with swaks from `source` (default: the primary address), quitting after
        AUTH. swaks exits 28 when the server refuses the credentials, 0 when it accepts them."""
        return self.in_attacker(
            ["swaks", "--server", f"{self.server}:{SUBMISSION_PORT}", "--local-interface", source or self.attacker,
             "--helo", "attacker.e2e.test", "--auth", "LOGIN", "--auth-user", user, "--auth-password", password,
             "--quit-after", "AUTH", "--timeout", "60"],
            check=False, timeout=120)

    def guess_on_one_connection(self, source: str, passwords: Sequence[str], user: str = USER,
                                reply_timeout_s: float = 40.0) -> GuessResult:
        """The one-connection attacker (module function of that name) from `source`."""
        return in_namespace(self.attacker_ns, guess_on_one_connection, self.server, SUBMISSION_PORT, source,
                            user, passwords, reply_timeout_s)

    # -- what the server saw --

    def failed_logins(self, address: str) -> Failures:
        """Failed logins from `address` in the server's own logs."""
        dovecot = sum(1 for m in map(_DOVECOT_FAILURE.search, _lines(self.dovecot_log)) if m and m.group(2) == address)
        postfix = lost = 0
        for m in map(_POSTFIX_FAILURE.search, _lines(self.postfix_log)):
            if m and m.group(1) == address:
                # "Connection lost to authentication server" is the server's fault, not the client's.
                if "Connection lost to authentication server" in m.group(2):
                    lost += 1
                else:
                    postfix += 1
        return Failures(dovecot=dovecot, postfix=postfix, lost=lost)

    def failures_by_address(self) -> dict[str, int]:
        """Every address with failed logins in Dovecot's log, and how many."""
        counts: dict[str, int] = {}
        for m in map(_DOVECOT_FAILURE.search, _lines(self.dovecot_log)):
            if m:
                counts[m.group(2)] = counts.get(m.group(2), 0) + 1
        return counts

    def wait_for_failures(self, address: str, at_least: int, deadline_s: float = 60) -> Failures:
        """Polls the logs until both have recorded `at_least` failures from `address` (Postfix logs after
        Dovecot's delay)."""
        return wait_until(f"{at_least} failed logins from {address} in the server's logs",
                          lambda: (f := self.failed_logins(address)).dovecot >= at_least
                          and f.postfix >= at_least and f, deadline_s)

    # -- the server's nftables --

    def nft_json(self, *args: str) -> dict:
        """`nft -j ARGS` in the server's namespace, parsed; {} when the object does not exist."""
        p = self.in_server(["nft", "-j", *args], check=False)
        if p.returncode != 0:
            return {}
        return json.loads(p.stdout or "{}")

    def set_elements(self, family: str, table: str, name_prefix: str = "") -> dict[str, set[str]]:
        """Every set of table `family table` whose name starts with `name_prefix`, with its elements as
        text ("10.203.0.2", "10.203.7.0/24"); {} when the table does not exist."""
        out: dict[str, set[str]] = {}
        for item in self.nft_json("list", "table", family, table).get("nftables", []):
            s = item.get("set")
            if not s or not s.get("name", "").startswith(name_prefix):
                continue
            out[s["name"]] = {_element_text(e) for e in s.get("elem", [])}
        return out

    @staticmethod
    def tail(path: Path, lines: int = 20) -> str:
        return _tail(path, lines)

    def diagnostics(self) -> str:
        """The last lines of every log, for a failing assertion's message."""
        return "\n".join(f"--- {p.name} ---\n{self.tail(p)}" for p in sorted(self.log_dir.glob("*")))


def _element_text(e) -> str:
    """An nft JSON set element as text: a bare address, {"elem": {"val": ..., "timeout": ...}}, or a
    prefix {"prefix": {"addr": ..., "len": ...}}."""
    if isinstance(e, dict) and "elem" in e:
        e = e["elem"].get("val")
    if isinstance(e, dict) and "prefix" in e:
        return f"{e['prefix']['addr']}/{e['prefix']['len']}"
    return str(e)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
        return True
    except (OSError, ValueError, IndexError):
        return False


class TestbedCase(unittest.TestCase):
    """The base of every e2e class: a fresh testbed for the class, set up once in setUpClass, then
    `prepare()` (what a subclass starts on it, e.g. the daemon) and `attack()` (what the whole class runs
    before its tests check the outcome, concurrently where it can); everything torn down in
    tearDownClass, also when set-up stops half way. Skipped, with the reason, when `missing()` says
    why it cannot run."""
    bed: Testbed
    bed_class: type = Testbed   # another server's testbed (tests/e2e/other_servers.py)

    @classmethod
    def missing(cls) -> Optional[str]:
        return missing_prerequisites()

    @classmethod
    def setUpClass(cls):
        reason = cls.missing()
        if reason:
            raise unittest.SkipTest(reason)
        cls.bed = cls.bed_class(cls.__name__)
        cls.bed.__enter__()
        try:
            cls.prepare()
            cls.attack()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls) -> None:
        """What the class starts on the fresh testbed before the attack."""

    @classmethod
    def attack(cls) -> None:
        """What the whole class runs before its tests check the outcome."""

    @classmethod
    def tearDownClass(cls):
        cls.bed.__exit__(None, None, None)

    def why(self) -> str:
        return self.bed.diagnostics()
