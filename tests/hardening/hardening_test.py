#!/usr/bin/python3
"""The running daemon's privileges and files are what docs/architecture.md ("Privileges and files") says.

Started as root under umask 000 (the most permissive an operator's shell could have), inside a
network namespace of its own (`unshare -n`, so its nftables table is not the host's), on a
configuration with a log file, a state directory it must create, a control socket and no metrics:
  - its effective, permitted and bounding capability sets (/proc/PID/status) are exactly
    CAP_NET_ADMIN + CAP_DAC_READ_SEARCH (no wire sensor configured);
  - the state directory it made is 0750; the database (with the log positions) and its -wal/-shm files, the
    allowlist file and the control socket are 0600.
Label `kernel` (root, nftables). Usage: hardening_test.py STRIKEOUT
"""

import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

CAP_DAC_READ_SEARCH = 2
CAP_NET_ADMIN = 12
EXPECTED_CAPS = (1 << CAP_NET_ADMIN) | (1 << CAP_DAC_READ_SEARCH)


def poll(what, check, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise SystemExit(f"gave up waiting for {what}")


def caps_of(pid):
    caps = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
                caps[key] = int(value.strip(), 16)
    return caps


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def main():
    strikeout = sys.argv[1]
    if os.geteuid() != 0:
        sys.exit("hardening test: needs root")
    if os.environ.get("STRIKEOUT_IN_NETNS") != "1":
        env = dict(os.environ, STRIKEOUT_IN_NETNS="1")
        sys.exit(subprocess.run(["unshare", "-n", sys.executable, __file__, strikeout], env=env, check=False).returncode)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    with tempfile.TemporaryDirectory(prefix="strikeout-hardening-") as tmp:
        state_dir = os.path.join(tmp, "var", "state")  # does not exist: the daemon makes it
        socket = os.path.join(tmp, "run", "control.sock")
        log = os.path.join(tmp, "mail.log")
        with open(log, "w", encoding="ascii") as f:
            f.write("Dec  5 10:00:00 mx postfix/smtpd[1]: connect from unknown[203.0.113.5]\n")
        config = os.path.join(tmp, "strikeout.toml")
        with open(config, "w", encoding="ascii") as f:
            f.write(f"""
[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
ban = "20m"

[[source]]
type = "file"
name = "mail.log"
path = "{log}"

[state]
path = "{state_dir}/state.db"

[control]
socket = "{socket}"

[metrics]
listen = "off"
""")
        run = lambda *args: subprocess.run([strikeout, *args, "--socket", socket], capture_output=True, text=True,
                                           check=False)
        daemon = subprocess.Popen([strikeout, "daemon", "--config", config], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, preexec_fn=lambda: os.umask(0))
        problems = []
        try:
            try:
                poll("the control socket", lambda: daemon.poll() is None and run("status").returncode == 0)
            except SystemExit:
                daemon.kill()
                print(daemon.communicate()[0].decode(errors="replace")[-3000:])
                raise
            # A ban (committed before the answer) and an allowlist entry (written to its file).
            r = run("ban", "192.0.2.9", "--for", "1h")
            if r.returncode != 0:
                problems.append(f"ban failed: {r.stderr}")
            r = run("allow", "add", "198.51.100.0/24")
            if r.returncode != 0:
                problems.append(f"allow add failed: {r.stderr}")

            caps = caps_of(daemon.pid)
            for key in ("CapEff", "CapPrm", "CapBnd"):
                if caps[key] != EXPECTED_CAPS:
                    problems.append(f"{key} is {caps[key]:#x}, docs/architecture.md says {EXPECTED_CAPS:#x} "
                                    "(CAP_NET_ADMIN, CAP_DAC_READ_SEARCH)")
            if mode_of(socket) != 0o600:
                problems.append(f"{socket} is {mode_of(socket):04o}, expected 0600")
            for key in ("CapInh", "CapAmb"):
                if caps[key] != 0:
                    problems.append(f"{key} is {caps[key]:#x}, not empty")
        finally:
            daemon.send_signal(signal.SIGTERM)
            out, _ = daemon.communicate(timeout=30)

        # The log positions are a table of the database (docs/state.md); the positions file
        # (sources::PositionFile, `--positions`) is written 0600 by its own open().
        expected = {state_dir: 0o750, os.path.join(state_dir, "state.db"): 0o600,
                    os.path.join(state_dir, "allowlist"): 0o600}
        for suffix in ("-wal", "-shm"):  # present while the database is open; checked if left
            if os.path.exists(os.path.join(state_dir, "state.db" + suffix)):
                expected[os.path.join(state_dir, "state.db" + suffix)] = 0o600
        for path, want in sorted(expected.items()):
            if not os.path.exists(path):
                problems.append(f"{path} was not created")
            elif mode_of(path) != want:
                problems.append(f"{path} is {mode_of(path):04o}, expected {want:04o}")
        if problems:
            print(out.decode(errors="replace")[-3000:])
            print("\n".join(problems))
            sys.exit(1)
        print(f"capabilities {EXPECTED_CAPS:#x} in the effective, permitted and bounding sets; "
              f"files: {', '.join(f'{os.path.basename(p)} {m:04o}' for p, m in sorted(expected.items()))}")


if __name__ == "__main__":
    main()
