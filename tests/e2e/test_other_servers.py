"""Other real servers and versions (issue 12): the lines a real server writes when a real client fails
AUTH become events, and a ban, both in `strikeout replay` and in the daemon.

Each class: one testbed with that server (tests/e2e/other_servers.py) and the daemon reading its logs with
the one rule that matters here (THRESHOLD failures within 20 minutes ban the address); swaks fails AUTH
THRESHOLD times from the attacker's address, one connection each. Then:
- the server's own log holds a failure line for each attempt (so the server really wrote them);
- `strikeout replay` over that log counts them and bans the address;
- the daemon, which read them as they were written, put the address in its kernel ban set.
"""

import json
import subprocess
import unittest
from typing import Optional

import strikeout_daemon
from other_servers import EximTestbed, OpenSmtpdTestbed, TrixieTestbed
from strikeout_daemon import THRESHOLD, Daemon, DaemonTestCase, auth_failures_rule
from strikeout_process import LogSource
from testbed import wait_until


class RealServerCase(DaemonTestCase):
    """The daemon on the server's `log_files`, then THRESHOLD wrong passwords with swaks."""
    formats: dict = {}   # log name -> the built-in format the daemon reads it with

    @classmethod
    def missing(cls) -> Optional[str]:
        reason = cls.bed_class.missing()
        if reason:
            return reason
        if strikeout_daemon.binary() is None:
            return "strikeout is not built (set STRIKEOUT_BIN, or build the release preset)"
        return None

    @classmethod
    def prepare(cls) -> None:
        sources = [LogSource(name, path, cls.formats.get(name)) for name, path in cls.bed.log_files.items()]
        cls.daemon = Daemon(cls.bed, sources=sources, rules=auth_failures_rule(), rate_limit="false")
        cls.daemon.start()

    @classmethod
    def attack(cls) -> None:
        cls.swaks_runs = [cls.bed.swaks(f"wrong-{i}") for i in range(THRESHOLD)]

    def failure_lines(self) -> int:
        raise NotImplementedError

    def test_swaks_was_refused_each_time(self):
        # 28: swaks' "AUTH refused". The last attempt may instead be cut by the ban itself: Dovecot writes
        # its failure line before its delay, so the daemon can ban (and end the session) before Postfix
        # answers 535. Never a success.
        for r in self.swaks_runs[:-1]:
            self.assertEqual(r.returncode, 28, r.stdout[-2000:] + r.stderr + self.why())
        last = self.swaks_runs[-1]
        self.assertNotEqual(last.returncode, 0, last.stdout[-2000:] + self.why())
        if last.returncode != 28:
            self.assertIn("closed connection", last.stdout + last.stderr, self.why())

    def test_the_server_logged_each_failure(self):
        count = wait_until(f"{THRESHOLD} failure lines in the server's log",
                           lambda: (n := self.failure_lines()) >= THRESHOLD and n, 30)
        self.assertGreaterEqual(count, THRESHOLD, self.why())

    def test_daemon_banned_the_attacker(self):
        try:
            self.daemon.wait_banned(self.bed.attacker, 60)
        except TimeoutError as e:
            self.fail(f"{e}\n{self.why()}")

    def test_replay_reads_the_lines_and_bans(self):
        wait_until("the server's failure lines", lambda: self.failure_lines() >= THRESHOLD, 30)
        args = [str(strikeout_daemon.binary()), "replay", "--json", "--config", str(self.daemon.config_path)]
        args += [str(p) for p in self.bed.log_files.values()]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        offenders = {o["address"]: o["failures"] for o in summary["top_offenders"]}
        self.assertGreaterEqual(offenders.get(self.bed.attacker, 0), THRESHOLD, p.stdout + self.why())
        self.assertIn(self.bed.attacker, {b["address"] for b in summary["active_bans"]}, p.stdout)


class Exim496(RealServerCase):
    """Debian 12's Exim 4.96: `login authenticator failed for (HELO) [ADDR]: 535 ...` in its main log."""
    bed_class = EximTestbed
    formats = {"exim": "exim"}

    def failure_lines(self) -> int:
        return self.bed.failed_logins(self.bed.attacker)


class Postfix310Dovecot24(RealServerCase):
    """Debian 13's Postfix 3.10 with Dovecot 2.4 as its SASL backend: Dovecot 2.4's per-attempt line
    (`auth(USER,ADDR,sasl:login): ... Password mismatch`, no session for Postfix's SASL) and Postfix's
    SASL line, each attempt counted once."""
    bed_class = TrixieTestbed
    formats = {"postfix": "postfix", "dovecot": "dovecot"}

    def failure_lines(self) -> int:
        text = self.bed.dovecot_log.read_text(errors="replace") if self.bed.dovecot_log.exists() else ""
        return sum(1 for line in text.splitlines()
                   if f",{self.bed.attacker}," in line and "Password mismatch" in line)

    def test_postfix_logged_each_failure_too(self):
        text = wait_until("Postfix's SASL failure lines",
                          lambda: (t := self.bed.postfix_log.read_text(errors="replace")).count(
                              f"[{self.bed.attacker}]: SASL LOGIN authentication failed") >= THRESHOLD and t, 60)
        self.assertIn("postfix/submission/smtpd", text)


class OpenSmtpd(RealServerCase):
    """Debian 13's OpenSMTPD through rsyslog: `smtp authentication user=USER address=ADDR host=NAME
    result=permfail` after STARTTLS."""
    bed_class = OpenSmtpdTestbed
    formats = {"opensmtpd": "opensmtpd"}

    @classmethod
    def attack(cls) -> None:
        cls.swaks_runs = [cls.bed.swaks_tls(f"wrong-{i}") for i in range(THRESHOLD)]

    def failure_lines(self) -> int:
        return self.bed.failed_logins(self.bed.attacker)


if __name__ == "__main__":
    unittest.main()
