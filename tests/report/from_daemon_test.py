#!/usr/bin/python3
"""`strikeout report --from-daemon`: a daemon (root, in a network namespace of its own so its nftables
table is not the host's) holds an operator's ban; the page written from its control socket lists it.
Label `kernel`. Usage: from_daemon_test.py STRIKEOUT
"""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from strikeout_process import DaemonConfig, DaemonProcess, LogSource, in_own_network_namespace  # noqa: E402


def main():
    strikeout = Path(sys.argv[1])
    in_own_network_namespace(__file__, sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="strikeout-report-daemon-") as tmp:
        tmp = Path(tmp)
        log = tmp / "mail.log"
        log.write_text("")
        config = DaemonConfig(state_dir=tmp / "state", sources=[LogSource("mail.log", log)])
        daemon = DaemonProcess(strikeout, tmp / "strikeout.toml", tmp / "daemon.log", config.socket)
        daemon.write_config(config)
        with daemon:  # started; stopped on the way out
            ban = daemon.cli("ban", "192.0.2.77", "--for", "2h")
            if ban.returncode != 0:
                sys.exit(f"ban failed: {ban.stderr}")
            page = tmp / "page.html"
            report = daemon.cli("report", "--from-daemon", "--config", str(daemon.config_path), "-o", str(page))
            if report.returncode != 0:
                sys.exit(f"report --from-daemon failed: {report.stderr}")
        html = page.read_text()
        for needle, what in (("192.0.2.77", "the ban is not on the page"),
                             ("operator &#183; 2h", "the ban's rule and length are not on the page"),
                             ("From a running daemon", "the page does not say where it comes from")):
            if needle not in html:
                sys.exit(what)
    print("report --from-daemon: the daemon's ban is on the page")


if __name__ == "__main__":
    main()
