"""The testbed without strikeout: proves that the mail server, its logs and the attack tools work, and
shows the weakness strikeout exists to fix.

Every attack runs at once from its own source address (Dovecot delays failures per address, 2 s growing
to 15 s, so one after the other would take minutes), then each test checks one of them against the
server's own logs:
- hydra with 12 wrong passwords: all 12 reach the server, and the server logs each one (as a failure,
  or as "Connection lost to authentication server" once Dovecot's growing delay for that address
  exceeds Postfix's wait of about 10 s: hydra gets a 454 for those);
- swaks: exit 28 on a wrong password, 0 on the right one (the AUTH backend really checks passwords);
- one client that keeps ONE connection open and guesses again and again: far more than the recipe's 3
  failures reach the server, on that one connection, which a block on new connections never stops.
"""

import unittest

import testbed
from testbed import PASSWORD, TestbedCase

HYDRA_PASSWORDS = [f"guess-{i:02d}" for i in range(12)]
ONE_CONNECTION_PASSWORDS = [f"try-{i:02d}" for i in range(8)]


class Baseline(TestbedCase):
    @classmethod
    def attack(cls):
        bed = cls.bed
        cls.one_connection_source, cls.swaks_wrong_source, cls.swaks_right_source = bed.add_attacker_addresses(3)
        cls.hydra_run, cls.one_connection, cls.swaks_wrong, cls.swaks_right = testbed.concurrently(
            lambda: bed.hydra(HYDRA_PASSWORDS),
            lambda: bed.guess_on_one_connection(cls.one_connection_source, ONE_CONNECTION_PASSWORDS),
            lambda: bed.swaks("not-the-password", source=cls.swaks_wrong_source),
            lambda: bed.swaks(PASSWORD, source=cls.swaks_right_source),
        )

    def test_hydra_failures_reach_the_server_and_are_logged(self):
        self.assertEqual(self.hydra_run.returncode, 0, self.hydra_run.stdout + self.hydra_run.stderr)
        self.assertIn("0 valid password", self.hydra_run.stdout)
        # hydra has finished: every guess has had its reply, and Postfix logs before it replies.
        failures = self.bed.failed_logins(self.bed.attacker)
        print(f"hydra: {len(HYDRA_PASSWORDS)} passwords tried, server logged {failures}")
        # Every guess reached the server and got a verdict logged: a failure, or "Connection lost to
        # authentication server" once Dovecot's delay for this address outgrew Postfix's patience.
        self.assertEqual(failures.postfix + failures.lost, len(HYDRA_PASSWORDS), self.bed.diagnostics())
        # Dovecot logs each failure it judged (before its delay), Postfix those it answered (after it);
        # Dovecot may still judge a guess Postfix gave up waiting for.
        self.assertGreaterEqual(failures.dovecot, failures.postfix, self.bed.diagnostics())
        # Well past the recipe's threshold of 3 from one address: the baseline strikeout must cut down.
        self.assertGreater(failures.attempts, 3)

    def test_swaks_exit_code_tells_failure_from_success(self):
        self.assertEqual(self.swaks_wrong.returncode, 28, self.swaks_wrong.stdout + self.swaks_wrong.stderr)
        self.assertEqual(self.swaks_right.returncode, 0, self.swaks_right.stdout + self.swaks_right.stderr)
        self.assertEqual(self.bed.wait_for_failures(self.swaks_wrong_source, 1).dovecot, 1)
        self.assertEqual(self.bed.failed_logins(self.swaks_right_source).attempts, 0)

    def test_one_connection_gets_many_guesses_through(self):
        r = self.one_connection
        failures = self.bed.failed_logins(self.one_connection_source)
        print(f"one connection: {r.replied} replies {r.codes}, server logged {failures}")
        self.assertTrue(r.connected, r.cut_reason)
        self.assertFalse(r.cut, r.cut_reason)
        self.assertEqual(r.replied, len(ONE_CONNECTION_PASSWORDS))
        # Every reply is a refusal: 535 for a wrong password, or 454 when Postfix gave up waiting for
        # Dovecot's growing delay (not a failure the server counted).
        self.assertTrue(set(r.codes) <= {535, 454}, r.codes)
        # The weakness: well past the recipe's threshold of 3, all on one connection.
        self.assertGreater(failures.attempts, 3, self.bed.diagnostics())
        # Postfix logs exactly what it answered. Dovecot may judge (and log) a guess that Postfix gave up
        # waiting for, so its count can be higher: the server saw at least every 535.
        self.assertEqual(failures.postfix, r.codes.count(535), self.bed.diagnostics())
        self.assertEqual(failures.lost, r.codes.count(454), self.bed.diagnostics())
        self.assertGreaterEqual(failures.dovecot, failures.postfix, self.bed.diagnostics())


if __name__ == "__main__":
    unittest.main()
