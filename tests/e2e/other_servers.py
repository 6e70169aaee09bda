"""Other real mail servers and versions in the testbed's namespaces (issue 12): the same two namespaces and
veth pair as `testbed.Testbed`, with another server in the server's namespace instead of Debian 12's
Postfix + Dovecot.

- `EximTestbed`: Debian 12's Exim 4.96 (`exim4-daemon-light`), which conflicts with the `postfix` package
  the other tests need, so it is never installed: `apt-get download` + `dpkg-deb -x` unpack it under
  CACHE/exim (once; later runs reuse it). Exim wants its compile-time user `Debian-exim` to exist; it is
  added to copies of /etc/passwd and /etc/group that are bind-mounted over the host's in a mount namespace
  of Exim's own, so the host's files are never changed. Plaintext authenticators PLAIN and LOGIN check the
  testbed's one user; Exim writes its main log (no syslog) to log/exim-mainlog.
- `TrixieTestbed`: Debian 13's Dovecot 2.4 + Postfix 3.10 from a Debian 13 root (`debootstrap trixie`,
  built by tests/e2e/make-debian-root). Each server runs `chroot ROOT` in a mount namespace of its own in
  which the testbed's run directory is bind-mounted at ROOT/e2e, so the root itself is only read. The
  configuration is Dovecot 2.4's own syntax. A missing root is built first (tests/e2e/make-debian-root,
  from the mirror the host's apt uses: about 300 MB, 1-2 minutes, once per machine); without debootstrap
  the test is skipped, saying so.
- `OpenSmtpdTestbed`: Debian 13's OpenSMTPD 7.6 from a Debian 13 root of its own, logging through that
  root's rsyslog; AUTH after STARTTLS (see the class for why not Debian 12's 6.8).

CACHE is $STRIKEOUT_E2E_CACHE, default /var/cache/strikeout-e2e. The Debian 13 root is
$STRIKEOUT_TRIXIE_ROOT, default CACHE/trixie-root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional, Sequence

from testbed import PASSWORD, SUBMISSION_PORT, USER, Testbed, TestbedError, in_namespace, run, smtp_greeting, \
    wait_until

CACHE = Path(os.environ.get("STRIKEOUT_E2E_CACHE", "/var/cache/strikeout-e2e"))
TRIXIE_ROOT = Path(os.environ.get("STRIKEOUT_TRIXIE_ROOT", str(CACHE / "trixie-root")))
MAKE_ROOT = Path(__file__).resolve().parent / "make-debian-root"
EXIM_USER = "Debian-exim"   # exim4-daemon-light's compile-time user
EXIM_ID = 64990             # its uid and gid in the bind-mounted copies of /etc/passwd and /etc/group


def _base_missing() -> Optional[str]:
    if os.geteuid() != 0:
        return "the e2e testbed needs root (network namespaces, mount namespaces, nftables)"
    missing = [t for t in ("ip", "nft", "swaks", "unshare", "chroot") if shutil.which(t) is None]
    if missing:
        return f"missing {', '.join(missing)}: run `scripts/install-deps` as root"
    return None


class ServerTestbed(Testbed):
    """The testbed's namespaces with `start_server()` instead of Postfix + Dovecot. `log_files` are the
    server's logs as the daemon reads them."""

    log_files: dict[str, Path]

    def _setup(self) -> None:
        reason = self.missing()
        if reason:
            raise TestbedError(reason)
        self.dir.mkdir(mode=0o755)
        if os.environ.get("STRIKEOUT_E2E_KEEP") != "1":
            self._cleanup.callback(shutil.rmtree, self.dir, ignore_errors=True)
        for d in (self.log_dir, self.scratch):
            d.mkdir(parents=True, exist_ok=True)
        self._make_network()
        self.start_server()
        wait_until(f"the greeting on {self.server}:{SUBMISSION_PORT}",
                   lambda: (g := in_namespace(self.server_ns, smtp_greeting, self.server, SUBMISSION_PORT, None))
                   and g.startswith("220"), 30)

    @classmethod
    def missing(cls) -> Optional[str]:
        return _base_missing()

    def start_server(self) -> None:
        raise NotImplementedError

    def _background(self, cmd: Sequence[str], stderr_name: str) -> subprocess.Popen:
        """Starts `cmd` (a foreground server) in the server's namespace; stopped at teardown (TERM, then
        KILL), and whatever it left is ended with the namespace."""
        p = subprocess.Popen(["ip", "netns", "exec", self.server_ns, *cmd], stdout=subprocess.DEVNULL,
                             stderr=open(self.log_dir / stderr_name, "w"))

        def stop():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self._cleanup.callback(stop)
        return p

    def diagnostics(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{self.tail(p)}" for p in sorted(self.log_dir.glob("*")) if p.is_file())


# --- Exim -------------------------------------------------------------------------------------------------

def exim_binary() -> Path:
    """Debian 12's exim4-daemon-light, unpacked under CACHE/exim (downloaded once)."""
    root = CACHE / "exim"
    binary = root / "usr" / "sbin" / "exim4"
    if binary.exists():
        return binary
    work = CACHE / "exim.download"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    run(["apt-get", "download", "exim4-daemon-light"], cwd=work, timeout=300)
    debs = sorted(work.glob("exim4-daemon-light_*.deb"))
    if not debs:
        raise TestbedError("apt-get download exim4-daemon-light gave no package")
    staging = CACHE / "exim.staging"
    shutil.rmtree(staging, ignore_errors=True)
    run(["dpkg-deb", "-x", str(debs[-1]), str(staging)])
    staging.rename(root)
    shutil.rmtree(work, ignore_errors=True)
    return binary


class EximTestbed(ServerTestbed):
    @classmethod
    def missing(cls) -> Optional[str]:
        reason = _base_missing()
        if reason:
            return reason
        if not (CACHE / "exim" / "usr" / "sbin" / "exim4").exists():
            for tool in ("apt-get", "dpkg-deb"):
                if shutil.which(tool) is None:
                    return f"Exim is not unpacked under {CACHE / 'exim'} and {tool} is missing"
        return None

    def start_server(self) -> None:
        binary = exim_binary()
        etc = self.dir / "exim-etc"
        spool = self.dir / "exim-spool"
        etc.mkdir()
        spool.mkdir()
        passwd = etc / "passwd"
        group = etc / "group"
        passwd.write_text(Path("/etc/passwd").read_text()
                          + f"{EXIM_USER}:x:{EXIM_ID}:{EXIM_ID}:Exim:/nonexistent:/usr/sbin/nologin\n")
        group.write_text(Path("/etc/group").read_text() + f"{EXIM_USER}:x:{EXIM_ID}:\n")
        os.chown(spool, EXIM_ID, EXIM_ID)
        os.chown(self.log_dir, EXIM_ID, EXIM_ID)
        self.exim_log = self.log_dir / "exim-mainlog"
        self.log_files = {"exim": self.exim_log}
        conf = etc / "exim.conf"
        # Exim's string expansion: true when the username and password are the testbed's one user's.
        plain_condition = "${if and {{eq{$auth2}{" + USER + "}}{eq{$auth3}{" + PASSWORD + "}}}}"
        login_condition = "${if and {{eq{$auth1}{" + USER + "}}{eq{$auth2}{" + PASSWORD + "}}}}"
        # Both authenticators are Exim's `plaintext` driver (the one Debian's example configuration uses
        # for PLAIN and LOGIN); the condition checks the testbed's one user. Mail itself is refused.
        conf.write_text(f"""\
# strikeout e2e testbed: Debian 12's Exim 4.96 with plaintext AUTH. Written by tests/e2e/other_servers.py.
primary_hostname = mail.e2e.test
spool_directory = {spool}
log_file_path = {self.log_dir}/exim-%slog
daemon_smtp_ports = 25 : {SUBMISSION_PORT}
local_interfaces = {self.server}
auth_advertise_hosts = *
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  deny

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = {plain_condition}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = {login_condition}
  server_set_id = $auth1
""")
        script = ('mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && exec "$@"')
        self._background(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(passwd),
                          str(group), str(binary), "-C", str(conf), "-bdf"], "exim.stderr")

    def failed_logins(self, address: str) -> int:
        return sum(1 for line in _lines(self.exim_log)
                   if "authenticator failed for" in line and f"[{address}]" in line)


# --- Servers from a Debian root of their own -------------------------------------------------------------

class DebianRootTestbed(ServerTestbed):
    """A server from a Debian root (`suite` with `packages`, built on first use by make-debian-root at
    `root`), run with `chroot ROOT` in a private mount namespace where ROOT/e2e is this run's directory."""
    suite = ""
    root = Path()
    packages: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()   # what a complete root holds

    @classmethod
    def root_ready(cls) -> bool:
        return all((cls.root / p).exists() for p in (*cls.programs, "e2e"))

    @classmethod
    def missing(cls) -> Optional[str]:
        reason = _base_missing()
        if reason:
            return reason
        if not cls.root_ready() and shutil.which("debootstrap") is None:
            return (f"no Debian {cls.suite} root with {', '.join(cls.packages)} at {cls.root} and no debootstrap "
                    f"to build it (scripts/install-deps installs it)")
        return None

    @classmethod
    def ensure_root(cls) -> None:
        """Builds the root when it is not there yet (once per machine: 1-2 minutes on the test machine),
        from the mirror the host's apt uses."""
        if cls.root_ready():
            return
        shutil.rmtree(cls.root, ignore_errors=True)  # an incomplete one from an older script
        run([str(MAKE_ROOT), cls.suite, str(cls.root), *cls.packages], timeout=1200)

    def chrooted(self, cmd: Sequence[str]) -> list[str]:
        """`cmd` run as `chroot ROOT` in a private mount namespace where ROOT/e2e is this run's directory
        and ROOT/proc a proc of its own."""
        script = ('mount --bind "$1" "$2/e2e" && mount -t proc proc "$2/proc" && root="$2" && shift 2 && '
                  'exec chroot "$root" "$@"')
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(self.dir),
                str(self.root), *cmd]

    def in_root(self, cmd: Sequence[str], **kw) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.server_ns, *self.chrooted(cmd)], **kw)


# --- Debian 13: Dovecot 2.4 + Postfix 3.10 ------------------------------------------------------------------

class TrixieTestbed(DebianRootTestbed):
    """Dovecot 2.4 as Postfix 3.10's SASL backend, both from the Debian 13 root."""
    suite = "trixie"
    root = TRIXIE_ROOT
    packages = ("postfix", "dovecot-core")
    programs = ("usr/sbin/postfix", "usr/sbin/dovecot")

    def start_server(self) -> None:
        self.ensure_root()
        self.postfix_log = self.log_dir / "postfix.log"
        self.dovecot_log = self.log_dir / "dovecot.log"
        self.log_files = {"postfix": self.postfix_log, "dovecot": self.dovecot_log}
        for d in ("postfix-etc", "spool/private", "data", "dovecot/state", "dovecot/run"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        (self.dir / "dovecot" / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (self.dir / "dovecot" / "passwd").chmod(0o644)
        # Owners as the root's own users (their ids differ from the host's).
        self.in_root(["chown", "postfix:root", "/e2e/spool/private"])
        self.in_root(["chown", "postfix", "/e2e/data"])
        (self.dir / "spool" / "private").chmod(0o700)
        (self.dir / "dovecot" / "dovecot.conf").write_text(f"""\
# strikeout e2e testbed: Dovecot 2.4 as Postfix's SASL backend only, in 2.4's own configuration syntax.
# Written by tests/e2e/other_servers.py.
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
protocols =
listen = 127.0.0.1
base_dir = /e2e/dovecot/run
state_dir = /e2e/dovecot/state
instance_name = strikeout-e2e-{self.run_id}
log_path = /e2e/log/dovecot.log
auth_mechanisms = plain login
auth_allow_cleartext = yes
auth_verbose = yes
ssl = no
passdb passwd-file {{
  passwd_file_path = /e2e/dovecot/passwd
}}
userdb static {{
  fields {{
    uid = nobody
    gid = nogroup
    home = /nonexistent
  }}
}}
service auth {{
  unix_listener /e2e/spool/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
""")
        self._background(self.chrooted(["dovecot", "-F", "-c", "/e2e/dovecot/dovecot.conf"]), "dovecot.stderr")
        wait_until("Dovecot 2.4's auth socket", (self.dir / "spool" / "private" / "auth").exists, 30)
        shutil.copy(self.root / "etc" / "postfix" / "master.cf", self.dir / "postfix-etc" / "master.cf")
        (self.dir / "postfix-etc" / "main.cf").write_text(
            "# strikeout e2e testbed: Postfix 3.10's own configuration directory. Written by "
            "tests/e2e/other_servers.py.\n")
        settings = ["compatibility_level = 3.6", "queue_directory = /e2e/spool", "data_directory = /e2e/data",
                    "myhostname = mail.e2e.test", "mydomain = e2e.test", "mydestination =", "alias_maps =",
                    "alias_database =", "inet_interfaces = all", "inet_protocols = ipv4",
                    "maillog_file = /e2e/log/postfix.log", "maillog_file_prefixes = /e2e/log",
                    "smtpd_peername_lookup = no", "smtpd_sasl_auth_enable = yes", "smtpd_sasl_type = dovecot",
                    "smtpd_sasl_path = private/auth", "smtpd_tls_security_level = none",
                    "smtpd_tls_auth_only = no",
                    "smtpd_relay_restrictions = permit_sasl_authenticated,reject_unauth_destination"]
        self.in_root(["postconf", "-c", "/e2e/postfix-etc", "-e", *settings])
        self.in_root(["postconf", "-c", "/e2e/postfix-etc", "-M", "submission/inet=submission inet n - n - - smtpd"])
        self.in_root(["postconf", "-c", "/e2e/postfix-etc", "-P", "submission/inet/syslog_name=postfix/submission"])
        self.in_root(["postconf", "-c", "/e2e/postfix-etc", "-M", "smtp/inet=smtp inet n - n - - smtpd"])
        # `postfix start` returns once its master runs in the background; the master keeps the mount
        # namespace (and so ROOT/e2e) alive. It is stopped with `postfix stop`, and ended with the
        # namespace if that fails.
        for verb in ("check", "start"):
            p = self.in_root(["postfix", "-c", "/e2e/postfix-etc", verb], check=False)
            if p.returncode != 0:
                raise TestbedError(f"postfix {verb} exited {p.returncode}: {p.stderr.strip()} "
                                   f"{self.tail(self.postfix_log, 5)}")
        self._cleanup.callback(lambda: self.in_root(["postfix", "-c", "/e2e/postfix-etc", "stop"], check=False))



# --- OpenSMTPD from Debian 13 ------------------------------------------------------------------------------

class OpenSmtpdTestbed(DebianRootTestbed):
    """OpenSMTPD from a Debian 13 root of its own (the package conflicts with the host's Postfix and wants
    its users `_smtpd`/`_smtpq` and directories, which its install makes in the root). Debian 12's 6.8.0p2
    was tried first and cannot be tested this way: built against OpenSSL 3, its privilege-separated
    signer fails every TLS handshake ("ecdsae_do_sign ... missing private key", "EVP lib"; RSA keys the
    same), and OpenSMTPD offers AUTH only after STARTTLS, so no client can even fail AUTH.
    It logs through syslog(3): rsyslog in the same root receives on the root's /dev/log and writes
    log/mail.log in Debian's default format (RFC 3339 stamps). The credentials table holds the testbed's
    one user with a SHA-512 crypt hash; the certificate is self-signed, made per run."""
    suite = "trixie"
    root = Path(os.environ.get("STRIKEOUT_OPENSMTPD_ROOT", str(CACHE / "trixie-opensmtpd-root")))
    packages = ("opensmtpd", "rsyslog", "openssl", "ca-certificates")  # smtpd refuses to start without CAs
    programs = ("usr/sbin/smtpd", "usr/sbin/rsyslogd", "usr/bin/openssl", "etc/ssl/certs/ca-certificates.crt")

    def start_server(self) -> None:
        self.ensure_root()
        base = self.dir / "opensmtpd"
        base.mkdir()
        self.mail_log = self.log_dir / "mail.log"
        self.log_files = {"opensmtpd": self.mail_log}
        (base / "rsyslog.conf").write_text(
            "# strikeout e2e testbed: the root's rsyslog writes the mail facility like Debian's does.\n"
            'module(load="imuxsock")\n'
            "$FileCreateMode 0644\n"
            "mail.* /e2e/log/mail.log\n")
        self._background(self.chrooted(["rsyslogd", "-n", "-f", "/e2e/opensmtpd/rsyslog.conf",
                                        "-i", "/e2e/opensmtpd/rsyslogd.pid"]), "rsyslog.stderr")
        wait_until("rsyslog's /dev/log in the root", (self.root / "dev" / "log").exists, 30)
        self.in_root(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-days", "2", "-subj",
                      "/CN=mail.e2e.test", "-keyout", "/e2e/opensmtpd/key.pem", "-out", "/e2e/opensmtpd/cert.pem"])
        (base / "key.pem").chmod(0o600)
        hashed = self.in_root(["openssl", "passwd", "-6", PASSWORD]).stdout.strip()
        (base / "creds").write_text(f"{USER} {hashed}\n")
        (base / "creds").chmod(0o640)
        conf = base / "smtpd.conf"
        conf.write_text(f"""\
# strikeout e2e testbed: OpenSMTPD with AUTH after STARTTLS. Written by tests/e2e/other_servers.py.
pki mail.e2e.test cert "/e2e/opensmtpd/cert.pem"
pki mail.e2e.test key "/e2e/opensmtpd/key.pem"
table creds file:/e2e/opensmtpd/creds
listen on {self.server} port {SUBMISSION_PORT} tls pki mail.e2e.test auth <creds> hostname mail.e2e.test
listen on {self.server} port 25 tls pki mail.e2e.test auth-optional <creds> hostname mail.e2e.test
action "nowhere" relay host smtp://127.0.0.1:9
match from any for any reject
""")
        conf.chmod(0o644)
        self._background(self.chrooted(["smtpd", "-F", "-f", "/e2e/opensmtpd/smtpd.conf"]), "smtpd.stderr")

    def swaks_tls(self, password: str, source: Optional[str] = None, user: str = USER) -> subprocess.CompletedProcess:
        """One AUTH LOGIN attempt after STARTTLS (OpenSMTPD offers AUTH only then)."""
        return self.in_attacker(
            ["swaks", "--server", f"{self.server}:{SUBMISSION_PORT}", "--local-interface", source or self.attacker,
             "--helo", "attacker.e2e.test", "--tls", "--auth", "LOGIN", "--auth-user", user, "--auth-password",
             password, "--quit-after", "AUTH", "--timeout", "60"], check=False, timeout=120)

    def failed_logins(self, address: str) -> int:
        """`smtp authentication user=U result=permfail` lines of sessions whose `smtp connected` line
        named `address` (OpenSMTPD writes the address once per session, then only the session id)."""
        sessions: set[str] = set()
        count = 0
        for line in _lines(self.mail_log):
            words = line.split()
            if len(words) < 6 or words[4] != "smtp":
                continue
            if words[5] == "connected" and f"address={address}" in words:
                sessions.add(words[3])
            elif words[5] == "authentication" and words[3] in sessions and "result=permfail" in words:
                count += 1
        return count

def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
