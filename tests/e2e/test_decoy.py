"""The decoy SMTP server through the daemon, end to end (issue 6, "Done when"; docs/decoy.md).

strikeout protects the real Postfix + Dovecot of the testbed from their logs, as in test_protection.py,
but its rules send offenders to the decoy (`action = "tarpit"`) instead of rejecting them:

- `auth-failures` (3 failures of an address within 20 minutes) tarpits in `decoy` mode, where every
  AUTH gets a fake `235` (`success_probability = 1.0`, so the test does not depend on which password
  the keyed hash picks);
- `insult-campaign` (one username failing from 2 addresses) tarpits both in `insult` mode.

What is checked, from the attacker's tools, the kernel sets, the real server's own logs and the decoy's
record file, never from the daemon's word alone:
- hydra (12 wrong passwords) gets its first 3 guesses judged by the real server, then its address is
  in the tarpit set, its next connection is redirected to the decoy, and hydra reports a "valid"
  password; that password does not log in on the real server; the real server saw exactly 3 failures
  from hydra's address (none after the threshold);
- the decoy's record file holds hydra's attempts with the password only as a 16-hex-digit hash: none of
  hydra's passwords appears in it in plain text, and no plaintext password file exists (not opted in);
- swaks from an address tarpitted in insult mode gets `451 4.7.1 <the first configured insult>` to its
  AUTH, and the real server sees no attempt of it.

Skipped, with the reason, while `strikeout daemon` does not exist or without root.
"""

import re
import unittest

import testbed
from strikeout_daemon import ALLOWLISTED, THRESHOLD, DaemonTestCase
from testbed import PASSWORD, Testbed, wait_until

INSULTS = ("Go away - give up.", "Your mother wears army boots")
HYDRA_PASSWORDS = [f"hydra-{i:02d}" for i in range(12)]
CAMPAIGN_USER = "insult-target"

RULES = f"""\
[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = {THRESHOLD}
within = "20m"
action = "tarpit"
decoy_mode = "decoy"
ban = "20m"
extend_on_retry = true

[[rule]]
name = "insult-campaign"
on = "auth-failure"
key = "username"
distinct = "address"
hits = 2
within = "1h"
action = "tarpit"
decoy_mode = "insult"
ban = "20m"
"""


def decoy_section(bed: Testbed) -> str:
    state = bed.dir / "strikeout"
    insults = ", ".join(f'"{line}"' for line in INSULTS)
    return f"""
[decoy]
port = 2525
mode = "decoy"
hostname = "decoy.e2e.test"
success_probability = 1.0
insults = [{insults}]
reply_delay = "200ms"
max_connections = 1000
workers = 1
record = "{state / 'decoy-attempts.tsv'}"
stats = "{state / 'decoy-stats.json'}"
secret = "{state / 'decoy.key'}"
"""


# hydra 9.4: "[587][smtp] host: 10.203.0.1   login: alice   password: hydra-03"
_HYDRA_FOUND = re.compile(r"\[smtp\] host: \S+\s+login: (\S+)\s+password: (\S+)")


class DecoyThroughTheDaemon(DaemonTestCase):
    @classmethod
    def prepare(cls):
        cls.daemon_config = dict(rules=RULES, extra=decoy_section(cls.bed))
        super().prepare()

    @classmethod
    def attack(cls):
        bed = cls.bed
        cls.record = bed.dir / "strikeout" / "decoy-attempts.tsv"
        cls.insulted, cls.campaign_peer = bed.add_attacker_addresses(2)
        bed.add_attacker_address(ALLOWLISTED)
        cls.hydra_run, cls.campaign = testbed.concurrently(
            lambda: bed.hydra(HYDRA_PASSWORDS, timeout_s=240),
            cls.insult_campaign,
        )

    @classmethod
    def insult_campaign(cls):
        """Two addresses fail once each on one username: the campaign rule tarpits both in insult mode.
        Then the first tries again with swaks. Returns that swaks run."""
        bed, daemon = cls.bed, cls.daemon
        # Both reach the real server (each is refused, or cut by the tarpit that the second failure
        # brings: Dovecot logs a failure before its delay, Postfix replies after it).
        testbed.concurrently(
            lambda: bed.swaks("wrong-1", source=cls.insulted, user=CAMPAIGN_USER),
            lambda: bed.swaks("wrong-2", source=cls.campaign_peer, user=CAMPAIGN_USER),
        )
        wait_until(f"{cls.insulted} and {cls.campaign_peer} in a tarpit set",
                   lambda: {cls.insulted, cls.campaign_peer} <= daemon.tarpitted(), 30)
        return bed.swaks("wrong-3", source=cls.insulted, user=CAMPAIGN_USER)

    def hydra_found(self) -> list[tuple[str, str]]:
        return _HYDRA_FOUND.findall(self.hydra_run.stdout)

    def test_hydra_is_sent_to_the_decoy_after_the_threshold(self):
        attacker = self.bed.attacker
        self.assertIn(attacker, self.daemon.tarpitted(), self.why())
        self.assertNotIn(attacker, self.daemon.banned(), "a tarpit ban went into a ban set, not a tarpit set")
        failures = self.bed.failed_logins(attacker)
        print(f"hydra with {len(HYDRA_PASSWORDS)} passwords: the real server saw {failures}")
        # The threshold's guesses reached the real server, and none after them.
        self.assertEqual(failures.attempts, THRESHOLD, self.why())

    def test_hydra_reports_a_fake_valid_password(self):
        out = self.hydra_run.stdout + self.hydra_run.stderr
        found = self.hydra_found()
        print(f"hydra exited {self.hydra_run.returncode}, found {found}")
        self.assertEqual(len(found), 1, f"hydra found {found}:\n{out}\n{self.why()}")
        user, password = found[0]
        self.assertEqual(user, testbed.USER)
        self.assertIn(password, HYDRA_PASSWORDS)
        self.assertNotEqual(password, PASSWORD)
        self.assertIn("1 valid password found", out)
        # The decoy's record file shows that fake success was given to hydra's address.
        rows = self.records(self.bed.attacker)
        self.assertIn("fake-success", {r["outcome"] for r in rows}, rows)
        # And the "valid" password does not log in on the real server: swaks from the allowlisted
        # address (the operator checking; a third address failing on "alice" would start a campaign)
        # gets exit 28, "credentials refused".
        check = self.bed.swaks(password, source=ALLOWLISTED)
        self.assertEqual(check.returncode, 28, check.stdout + check.stderr)
        self.assertIn("220 mail.e2e.test ", check.stdout, "the check did not reach the real server")
        self.assertEqual(self.bed.wait_for_failures(ALLOWLISTED, 1).dovecot, 1)

    def test_record_file_holds_the_attempts_with_hashed_passwords_only(self):
        self.assertTrue(self.record.exists(), f"no record file {self.record}")
        self.assertEqual(self.record.stat().st_mode & 0o777, 0o600)
        text = self.record.read_text(errors="replace")
        rows = self.records(self.bed.attacker)
        print(f"the decoy recorded {len(rows)} AUTH attempts from hydra: {rows}")
        self.assertGreaterEqual(len(rows), 1, text)
        for r in rows:
            self.assertEqual(r["mode"], "decoy", r)
            self.assertEqual(r["user"], testbed.USER, r)
            self.assertIn(r["mechanism"], ("PLAIN", "LOGIN"), r)
            self.assertRegex(r["password_hash"], r"^[0-9a-f]{16}$", r)
        for password in HYDRA_PASSWORDS:
            self.assertNotIn(password, text, "a plaintext password in the record file")
        # Not opted in: no file the daemon wrote holds a tried password in plain text.
        for path in (self.bed.dir / "strikeout").iterdir():
            data = path.read_bytes() if path.is_file() else b""
            leaked = [p for p in HYDRA_PASSWORDS if p.encode() in data]
            self.assertEqual(leaked, [], f"plaintext passwords in {path}")

    def test_insult_mode_answers_swaks_with_451(self):
        r = self.campaign
        out = r.stdout + r.stderr
        print(f"swaks from {self.insulted} (tarpitted, insult mode) exited {r.returncode}")
        self.assertNotEqual(r.returncode, 0, out)
        self.assertRegex(out, r"451 4\.7\.1 " + re.escape(INSULTS[0]), f"{out}\n{self.why()}")
        # The greeting came from the decoy (its own hostname), not from the real Postfix.
        self.assertIn("220 decoy.e2e.test ", out)
        # The real server saw only the first failure of each campaign address.
        self.assertEqual(self.bed.failed_logins(self.insulted).attempts, 1, self.why())
        rows = self.records(self.insulted)
        self.assertTrue(rows and all(row["mode"] == "insult" and row["outcome"] == "no-password"
                                     and row["password_hash"] == "" for row in rows), rows)

    def test_z_daemon_stops_cleanly_with_the_decoy_running(self):
        """Runs last (unittest orders by name). Regression: the daemon hung forever on SIGTERM once
        the decoy's workers ran. They run as nobody and the daemon has dropped CAP_KILL, so the
        supervisor's SIGTERM to them failed with EPERM and its waitpid() never returned; now closing
        their channel ends them."""
        code = self.daemon.stop(check=False)
        self.assertEqual(code, 0, self.bed.tail(self.daemon.log))
        left = self.bed.in_server(["ps", "-C", "strikeout-decoy", "-o", "pid="], check=False).stdout.split()
        ours = [pid for pid in left if pid.isdigit() and
                self.bed.server_ns in testbed.run(["ip", "netns", "identify", pid], check=False).stdout]
        self.assertEqual(ours, [], "decoy workers outlived the daemon")
        # The tarpit stays in the kernel after the daemon is gone, as a ban does.
        self.assertIn(self.bed.attacker, self.daemon.tarpitted())

    def records(self, source: str) -> list[dict]:
        """The record file's lines from `source` as dicts (docs/decoy.md, "What it records")."""
        names = ("time", "source", "port", "mode", "mechanism", "outcome", "user", "password_hash")
        out = []
        try:
            lines = self.record.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            fields = line.split("\t")
            if len(fields) == len(names) and fields[1] == source:
                out.append(dict(zip(names, fields)))
        return out


if __name__ == "__main__":
    unittest.main()
