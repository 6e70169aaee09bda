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
import stat
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from strikeout_process import DaemonConfig, DaemonProcess, LogSource, in_own_network_namespace  # noqa: E402

CAP_DAC_READ_SEARCH = 2
CAP_NET_ADMIN = 12
EXPECTED_CAPS = (1 << CAP_NET_ADMIN) | (1 << CAP_DAC_READ_SEARCH)


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
    in_own_network_namespace(__file__, sys.argv[1:])

    with tempfile.TemporaryDirectory(prefix="strikeout-hardening-") as tmp:
        tmp = Path(tmp)
        state_dir = tmp / "var" / "state"  # does not exist: the daemon makes it
        log = tmp / "mail.log"
        log.write_text("Dec  5 10:00:00 mx postfix/smtpd[1]: connect from unknown[203.0.113.5]\n")
        socket = tmp / "run" / "control.sock"
        config = DaemonConfig(state_dir=state_dir, sources=[LogSource("mail.log", log)], control_socket=socket)
        daemon = DaemonProcess(Path(strikeout), tmp / "strikeout.toml", tmp / "daemon.log", socket,
                               preexec_fn=lambda: os.umask(0))
        daemon.write_config(config, make_state_dir=False)
        problems = []
        try:
            daemon.start()
            # A ban (committed before the answer) and an allowlist entry (written to its file).
            r = daemon.cli("ban", "192.0.2.9", "--for", "1h")
            if r.returncode != 0:
                problems.append(f"ban failed: {r.stderr}")
            r = daemon.cli("allow", "add", "198.51.100.0/24")
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
            daemon.stop(check=False, deadline_s=30)
        out = daemon.log_text()

        # The log positions are a table of the database (docs/state.md); the positions file
        # (sources::PositionFile, `--positions`) is written 0600 by its own open().
        expected = {state_dir: 0o750, state_dir / "state.db": 0o600, state_dir / "allowlist": 0o600}
        for suffix in ("-wal", "-shm"):  # present while the database is open; checked if left
            if (state_dir / ("state.db" + suffix)).exists():
                expected[state_dir / ("state.db" + suffix)] = 0o600
        for path, want in sorted(expected.items()):
            if not os.path.exists(path):
                problems.append(f"{path} was not created")
            elif mode_of(path) != want:
                problems.append(f"{path} is {mode_of(path):04o}, expected {want:04o}")
        if problems:
            print(out[-3000:])
            print("\n".join(problems))
            sys.exit(1)
        print(f"capabilities {EXPECTED_CAPS:#x} in the effective, permitted and bounding sets; "
              f"files: {', '.join(f'{os.path.basename(p)} {m:04o}' for p, m in sorted(expected.items()))}")


if __name__ == "__main__":
    main()
