"""strikeout protecting a real Postfix + Dovecot from the WIRE ALONE (issue 5, "Done when").

The daemon runs in the server's namespace with no log source at all: its only sensor is the wire
sensor ([wire] enabled, capturing on `any` there), which sees Postfix's `535` replies leave for the
attacker and bans it. Plaintext AUTH on 587 (`smtpd_tls_auth_only = no`), so the replies are readable.

The race is tighter than with logs: Dovecot logs a failure before its delay, but the `535` is the
wire's first sign, and it reaches the attacker as it reaches the sensor. The ban must be in the kernel
before the attacker's next guess is. hydra's AUTH LOGIN needs two more round trips through Postfix and
Dovecot before a password reaches Dovecot: the ban wins, and the server sees exactly 3. The scripted
one-connection client answers a 535 with its next `AUTH PLAIN <credentials>` within about 0.1 ms, one
packet, faster than the wire's path (capture, engine, kernel batch: about 0.3 ms): that one guess may
already be in Postfix's socket when the ban lands. The ban then ends the session, so its verdict never
reaches the client, and nothing after it reaches the server; the test allows that one in-flight guess
and checks the client learned exactly 3 verdicts (docs/wire.md, "Live operation").

What the wire counts, and so what these tests count: the failed logins the server ANSWERED as failed
(`535`), in Postfix's own log ("SASL ... authentication failed" other than "Connection lost to
authentication server"). Dovecot's penalty delay grows per address (2, 4, 8, 15 s) and Postfix gives
up on Dovecot after 10 s: such a guess is judged (and logged) by Dovecot, but Postfix answers it `454
4.7.0 Temporary authentication failure`, which tells the attacker nothing, right or wrong, and is no
proof of a wrong password (the same reply comes when Dovecot is down), so the wire does not count it.
Dovecot's count may then exceed Postfix's by those 454s, and the tests check that it does by no more.
A log source beside the wire counts them (Dovecot logs before its delay): docs/wire.md.

The verdicts come from the mail server's own logs (what reached it) and the kernel sets, never from the
daemon's word alone. Skipped, with the reason, without root, the e2e packages or `strikeout daemon`.
"""

import json
import socket
import struct
import threading
import unittest

import testbed
from strikeout_daemon import (THRESHOLD, USERNAME_CAMPAIGN_RULE, DaemonTestCase, auth_failures_rule, log_sources,
                              passwords)
from testbed import wait_until


def forged_reply_frame(dst_mac: bytes, src_mac: bytes, server: str, victim: str, seq: int) -> bytes:
    """An Ethernet frame that looks like the server's `535` sent from server:587 to victim:40000, for
    injection from OUTSIDE (a blind forger: no handshake ever happened). IPv4 header checksum right; the
    TCP checksum is left 0 (the sensor does not verify it, and the server's kernel drops the frame
    either way: what matters is that the capture sees it)."""
    payload = b"535 5.7.8 Error: authentication failed: forged\r\n"
    tcp = struct.pack("!HHIIBBHHH", 587, 40000, seq, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x1234, 0x4000, 64, 6, 0,
                         socket.inet_aton(server), socket.inet_aton(victim))
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    header = header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:]
    return dst_mac + src_mac + b"\x08\x00" + header + tcp


# The e2e rules without the connection rate (the wire sees no connections).
WIRE_RULES = auth_failures_rule() + "\n" + USERNAME_CAMPAIGN_RULE

WIRE_SECTION = """
[wire]
enabled = true
interfaces = ["any"]
failure_replies = ["535"]
"""


class _WireCase(DaemonTestCase):
    """The wire sensor as the ONLY sensor (no [[source]] at all), or, `with_logs`, beside the
    testbed's Postfix and Dovecot log files; no kernel rate limit."""
    with_logs = False

    @classmethod
    def prepare(cls) -> None:
        cls.daemon_config = dict(rules=WIRE_RULES, extra=WIRE_SECTION, ports=(25, 465, 587), rate_limit="false",
                                 sources=log_sources(cls.bed) if cls.with_logs else [])
        super().prepare()


class WireAloneStopsAttackers(_WireCase):
    """hydra and the one-connection attacker at once, each from its own address with its own username,
    against a server whose only protection is the wire sensor."""

    @classmethod
    def attack(cls):
        bed = cls.bed
        cls.one_connection_source = bed.add_attacker_addresses(1)[0]
        cls.hydra_run, cls.one_connection = testbed.concurrently(
            lambda: bed.hydra(passwords("hydra", 12), user="alice", timeout_s=240),
            lambda: bed.guess_on_one_connection(cls.one_connection_source, passwords("one", 8),
                                                user="postmaster"),
        )

    def assert_threshold_answered(self, failures: testbed.Failures) -> None:
        """Exactly THRESHOLD failed logins answered with 535, and any further guess Dovecot judged was
        answered 454 (Postfix's timeout), never 535."""
        self.assertEqual(failures.postfix, THRESHOLD, self.why())
        self.assertLessEqual(failures.dovecot, failures.postfix + failures.lost, self.why())

    def test_hydra_gets_at_most_the_threshold_through(self):
        self.daemon.wait_banned(self.bed.attacker)
        failures = self.bed.failed_logins(self.bed.attacker)
        print(f"hydra with 12 passwords, wire alone: the server saw {failures}")
        self.assert_threshold_answered(failures)
        self.assertIsNone(self.bed.greeting(self.bed.attacker), self.why())

    def test_one_connection_is_cut_after_the_ban(self):
        r = self.one_connection
        failures = self.bed.failed_logins(self.one_connection_source)
        print(f"one connection, 8 passwords, wire alone: {r.replied} replies {r.codes}, cut: {r.cut_reason!r}; "
              f"the server saw {failures}")
        self.assertTrue(r.connected, r.cut_reason)
        self.assertTrue(r.cut, f"the connection was never cut: {r}\n{self.why()}")
        # The client got exactly THRESHOLD verdicts (535), and no reply at all after the last of them:
        # the ban that followed the third one on the wire cut the session.
        self.assertEqual(r.codes.count(535), THRESHOLD, r)
        self.assertEqual(r.codes[-1], 535, r)
        self.assertNotIn(235, r.codes, r)
        # The server judged at most the one guess already in flight when the third 535 left (its
        # verdict went to a dead session), and answered every other extra one 454 (Dovecot's penalty).
        self.assertGreaterEqual(failures.postfix, THRESHOLD, self.why())
        self.assertLessEqual(failures.postfix, THRESHOLD + 1, self.why())
        self.assertLessEqual(failures.dovecot, failures.postfix + failures.lost, self.why())
        self.assertIn(self.one_connection_source, self.daemon.banned())

    def test_the_wire_was_the_only_sensor_and_read_the_usernames(self):
        self.daemon.wait_banned(self.bed.attacker)
        status = self.daemon.status()
        sensors = {s["name"]: s for s in status["sensors"]}
        self.assertEqual(list(sensors), ["wire:any"], status)
        wire = sensors["wire:any"]
        print(f"status of wire:any: {wire}")
        self.assertEqual(wire["kind"], "wire")
        self.assertEqual(wire["health"], "capturing")
        # 3 failures from each attacker were seen and counted.
        self.assertGreaterEqual(wire["failures"], 2 * THRESHOLD, wire)
        # The usernames came from the attackers' plaintext AUTH, read on the wire.
        self.assertTrue(self.daemon.log_lines('SRC=10.203.0.2 rule=auth-failures user="alice"'),
                        self.daemon.log_lines("SMTP_AUTH"))
        self.assertTrue(self.daemon.log_lines(f'SRC={self.one_connection_source} rule=auth-failures user="postmaster"'),
                        self.daemon.log_lines("SMTP_AUTH"))

    def test_forged_replies_from_outside_give_no_strike(self):
        """A blind forger on the link sends frames that look like the server's 535 to a victim address
        (source: the server's own address and port 587): the capture marks them received, not sent by
        this host, so they never count (docs/wire.md, "What counts as a reply")."""
        bed = self.bed
        victim = "10.203.66.66"

        def mac(namespace: str, ifname: str) -> bytes:
            p = testbed.run(["ip", "-n", namespace, "-j", "link", "show", "dev", ifname])
            return bytes.fromhex(json.loads(p.stdout)[0]["address"].replace(":", ""))
        frames = [forged_reply_frame(mac(bed.server_ns, bed.server_if), mac(bed.attacker_ns, bed.attacker_if),
                                     bed.server, victim, 1000 + 100 * i) for i in range(2 * THRESHOLD)]
        before = self.daemon.status()["sensors"][0]["received_replies"]

        def inject():
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:
                raw.bind((bed.attacker_if, 0))
                for frame in frames:
                    raw.send(frame)
        testbed.in_namespace(bed.attacker_ns, inject)
        # The sensor saw every one of them, and took them for what they are.
        wait_until("the forged frames seen by the wire sensor",
                   lambda: self.daemon.status()["sensors"][0]["received_replies"] >= before + len(frames), 10)
        self.assertFalse(self.daemon.log_lines(f"SRC={victim} "), self.daemon.log_lines(victim))
        self.assertEqual(self.daemon.explain(victim)["activity"], [])
        self.assertNotIn(victim, self.daemon.banned())

    def test_implicit_tls_is_said_once_in_the_log_and_in_status(self):
        """Two connections to 465 (a bare TCP listener stands in for an implicit-TLS server): the
        sensor cannot read them, and says so once, however many it sees."""
        listener = testbed.in_namespace(self.bed.server_ns, socket.create_server, (self.bed.server, 465))
        accepted = []

        def accept_two():
            for _ in range(2):
                conn, _ = listener.accept()
                accepted.append(conn)
        t = threading.Thread(target=accept_two, daemon=True)
        t.start()
        try:
            source = self.bed.add_attacker_addresses(1)[0]
            for _ in range(2):
                testbed.in_namespace(self.bed.attacker_ns, lambda: socket.create_connection(
                    (self.bed.server, 465), timeout=5, source_address=(source, 0)).close())
            notice = "wire: port 465 uses implicit TLS"
            wait_until("the implicit-TLS notice in the daemon's log", lambda: self.daemon.log_lines(notice), 10)
            wait_until("both connections counted", lambda: self.daemon.status()["sensors"][0]
                       ["implicit_tls_connections"] >= 2, 10)
            status = self.daemon.status()
            self.assertEqual(len(self.daemon.log_lines(notice)), 1, self.daemon.log_lines(notice))
            self.assertEqual(sum(notice in w for w in status["warnings"]), 1, status["warnings"])
            self.assertTrue(any("add a log source" in w or "journald" in w for w in status["warnings"]),
                            status["warnings"])
        finally:
            t.join(5)
            for c in accepted:
                c.close()
            listener.close()


class WireAndLogsCountEachFailureOnce(_WireCase):
    """The wire beside both logs: each failed login is reported three times (Dovecot's log before its
    delay, Postfix's log and the 535 on the wire after it), and must count once. Two failures must not
    ban a user who mistyped twice; the third does.

    Regression: pairing was one to one, so of three reports of one failure two paired and the third
    counted again: two failed logins made 3 strikes and banned (seen: 6 reports, 3 duplicates,
    "Strike 3" after the second failure). Each reporter now joins a counted failure once."""

    with_logs = True

    def failures_reported(self, address: str) -> int:
        return sum(1 for e in self.daemon.explain(address)["activity"]
                   if e.get("type") == "event" and e.get("kind") == "auth-failure")

    def test_two_failures_reported_three_ways_do_not_ban_and_a_third_does(self):
        bed = self.bed
        source = bed.add_attacker_addresses(1)[0]
        r = bed.guess_on_one_connection(source, passwords("typo", 2), user="bob")
        self.assertEqual(r.codes, [535, 535], r)
        bed.wait_for_failures(source, 2)
        # Every report of both failures has reached the daemon: two from each log and two on the wire.
        wait_until(f"6 failure reports from {source}", lambda: self.failures_reported(source) >= 6, 30)
        status = self.daemon.status()
        wire = {s["name"]: s for s in status["sensors"]}["wire:any"]
        print(f"two failures from {source}: {self.failures_reported(source)} reports; engine duplicates "
              f"{status['engine']['duplicates']}; wire failures {wire['failures']}")
        self.assertGreaterEqual(wire["failures"], 2, wire)
        self.assertNotIn(source, self.daemon.banned(), self.daemon.log_lines(source))
        self.assertFalse(self.daemon.log_lines(f"Go AWAY: SRC={source} "), self.daemon.log_lines(source))
        self.assertFalse(self.daemon.log_lines(f"Strike 3: SRC={source} "), self.daemon.log_lines(source))
        # The third failure bans it.
        r = bed.guess_on_one_connection(source, passwords("third", 3), user="bob")
        self.daemon.wait_banned(source, 60)
        # The server judged exactly three guesses (Dovecot logs each before its delay). The ban may
        # land on Dovecot's third line, before Postfix answers: then the session is cut and Postfix
        # never logs its third failure, so Postfix's count is 2 or 3.
        seen = bed.failed_logins(source)
        self.assertEqual(seen.dovecot, THRESHOLD, self.bed.diagnostics())
        self.assertIn(seen.postfix, (THRESHOLD - 1, THRESHOLD), self.bed.diagnostics())


if __name__ == "__main__":
    unittest.main()
