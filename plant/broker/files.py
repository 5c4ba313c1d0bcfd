"""Mosquitto's password and ACL files, and secret files, written safely.

:class:`PasswdFile` changes the password file only through ``mosquitto_passwd`` (the secret on
its standard input, never its command line); :class:`AclFile` keeps one marked block per
identity and leaves anything else an administrator wrote. New files are mode 0640 and, when
run as root, group ``mosquitto`` (the broker drops root and must still read them); secret
files are mode 0600 from the moment they exist.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from peakline.errors import ConfigError

__all__ = ["AclFile", "PasswdFile", "write_secret"]

_BEGIN, _END = "# peakline:begin ", "# peakline:end "


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by its owner only (mode 0600), replacing it.

    Never through a symbolic link (one planted at ``path`` would send the secret wherever it
    points): such a path is refused, and the secret goes to a new file (``O_EXCL``,
    ``O_NOFOLLOW``) that is then renamed over ``path``.
    """
    if path.is_symlink():
        raise ConfigError(f"{path} is a symbolic link; refusing to write a secret through it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secret + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _share_with_broker(path: Path) -> None:
    """Give a new file to the ``mosquitto`` group (when run as root and the group exists), so
    the broker, which drops root for user mosquitto, can read it at mode 0640."""
    if os.geteuid() != 0:
        return
    try:
        import grp

        os.chown(path, -1, grp.getgrnam("mosquitto").gr_gid)
    except (KeyError, OSError):
        return


def _atomic_write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PasswdFile:
    """A Mosquitto password file, changed only through ``mosquitto_passwd``."""

    def __init__(self, path: Path, executable: str = "mosquitto_passwd") -> None:
        self.path = path
        self.executable = executable

    def users(self) -> set[str]:
        """Usernames in the file (empty if it does not exist)."""
        if not self.path.exists():
            return set()
        lines = self.path.read_text().splitlines()
        return {ln.split(":", 1)[0] for ln in lines if ":" in ln and not ln.startswith("#")}

    def _exe(self) -> str:
        exe = shutil.which(self.executable)
        if exe is None:
            raise ConfigError(
                f"{self.executable!r} not found on PATH: it hashes passwords in Mosquitto's"
                " format and comes with the broker (apt-get install mosquitto)"
            )
        return exe

    def set(self, user: str, secret: str) -> None:
        """Add ``user`` or change its password; the secret travels on stdin only."""
        exe = self._exe()
        new = not self.path.exists()
        args = [exe, "-c", str(self.path), user] if new else [exe, str(self.path), user]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(args, input=f"{secret}\n{secret}\n".encode(), capture_output=True,
                              timeout=30, check=False)
        if proc.returncode != 0:
            raise ConfigError(f"mosquitto_passwd failed for {user}: "
                              f"{proc.stderr.decode(errors='replace').strip()}")
        if new:
            os.chmod(self.path, 0o640)
            _share_with_broker(self.path)

    def delete(self, user: str) -> None:
        """Remove ``user`` (no error if absent)."""
        if user not in self.users():
            return
        proc = subprocess.run([self._exe(), "-D", str(self.path), user], capture_output=True,
                              timeout=30, check=False)
        if proc.returncode != 0:
            raise ConfigError(f"mosquitto_passwd -D failed for {user}: "
                              f"{proc.stderr.decode(errors='replace').strip()}")


class AclFile:
    """A Mosquitto ACL file whose Peakline blocks are marked so they can be replaced."""

    HEADER = (
        "# Mosquitto ACL managed by `peakline plant provision`; blocks between peakline:begin\n"
        "# and peakline:end markers are rewritten by it, anything else is kept.\n"
    )

    def __init__(self, path: Path) -> None:
        self.path = path

    def _split(self) -> tuple[list[str], dict[str, list[str]]]:
        other: list[str] = []
        blocks: dict[str, list[str]] = {}
        current: str | None = None
        text = self.path.read_text() if self.path.exists() else self.HEADER
        for ln in text.splitlines():
            if ln.startswith(_BEGIN):
                current = ln[len(_BEGIN):].strip()
                blocks[current] = []
            elif ln.startswith(_END) and current is not None:
                current = None
            elif current is not None:
                blocks[current].append(ln)
            else:
                other.append(ln)
        return other, blocks

    def blocks(self) -> dict[str, list[str]]:
        """username -> its ACL lines (without the ``user`` line)."""
        _, blocks = self._split()
        return {u: [ln for ln in b if not ln.startswith("user ")] for u, b in blocks.items()}

    def put(self, user: str, lines: list[str]) -> None:
        """Add or replace the block of ``user``."""
        other, blocks = self._split()
        blocks[user] = [f"user {user}", *lines]
        self._write(other, blocks)

    def remove(self, user: str) -> None:
        other, blocks = self._split()
        if blocks.pop(user, None) is not None:
            self._write(other, blocks)

    def _write(self, other: list[str], blocks: dict[str, list[str]]) -> None:
        out = "\n".join(other).rstrip().splitlines()
        for user in sorted(blocks):
            out += ["", f"{_BEGIN}{user}", *blocks[user], f"{_END}{user}"]
        existed = self.path.exists()
        mode = self.path.stat().st_mode & 0o777 if existed else 0o640
        gid = self.path.stat().st_gid if existed else None
        _atomic_write(self.path, "\n".join(out).strip("\n") + "\n", mode)
        if gid is None:
            _share_with_broker(self.path)
        elif os.geteuid() == 0:
            os.chown(self.path, -1, gid)
