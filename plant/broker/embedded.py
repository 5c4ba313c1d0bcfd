"""An MQTT 3.1.1 broker from the amqtt package, run as a child process, for where Mosquitto is not.

``peakline demo`` uses it when ``mosquitto`` is not on PATH; tests use it to check that the
camera nodes and the plant work under MQTT 3.1.1. It listens on 127.0.0.1 only. Clients must
log in: with a password file (``user:argon2-hash`` lines, written by :class:`EmbeddedBroker`
from its ``users``) the password is checked; without one any client that gives a user name is
let in. Either way no session is anonymous, which is what makes amqtt keep a
``clean_session=False`` session (its subscriptions, and the QoS 1 messages that arrive while
the client is away) across a reconnect. amqtt keeps those sessions in memory only: unlike
Mosquitto with persistence on, a broker restart loses them and their queued messages. The
plant's acknowledgement after commit, not the broker, is what the edge trusts, so a restart
costs resends, not results.

Run on its own: ``python -m plant.broker.embedded --port 1883 [--password-file FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peakline.logs import setup_logging
from peakline.procs import ChildProcess, free_port
from plant.broker.process import BrokerProcess

__all__ = ["EmbeddedBroker", "broker_config", "hash_users", "main"]

_SESSION_EXPIRY_S = 7 * 86_400  # Mosquitto's persistent_client_expiration


def broker_config(port: int, password_file: Path | None = None) -> dict[str, Any]:
    """amqtt's broker config: one TCP listener on loopback, clients must give a user name."""
    auth: dict[str, Any]
    if password_file is not None:
        auth = {
            "amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(password_file)}
        }
    else:
        auth = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}}
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "session_expiry_interval": _SESSION_EXPIRY_S,
        "plugins": auth,
    }


def hash_users(users: dict[str, str]) -> str:
    """Password-file text for amqtt's FileAuthPlugin (argon2 hashes)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = PasswordHash((Argon2Hasher(),))
    for user in users:
        if not user or ":" in user:
            raise ValueError(f"invalid MQTT user name {user!r}")
    return "".join(f"{user}:{hasher.hash(pw)}\n" for user, pw in users.items())


@dataclass
class EmbeddedBroker(BrokerProcess):
    """An amqtt broker child process on 127.0.0.1:``port``; the interface of ``Mosquitto``.

    ``users`` (name -> password) are written, hashed, to ``workdir/passwd``; without users,
    any client with a user name may connect.
    """

    workdir: Path
    port: int = field(default_factory=free_port)
    users: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable
    _child: ChildProcess | None = field(default=None, init=False, repr=False)

    protocol = "3.1.1"
    name = "amqtt"
    start_timeout_s = 15.0

    @property
    def password_path(self) -> Path:
        return self.workdir / "passwd"

    def prepare(self) -> None:
        """Create the work dir and write the password file (if there are users)."""
        super().prepare()
        if self.users:
            path = self.password_path
            path.touch(mode=0o600, exist_ok=True)
            os.chmod(path, 0o600)
            path.write_text(hash_users(self.users))

    def argv(self) -> list[str]:
        """The command line of the broker process (after :meth:`prepare`)."""
        argv = [self.python, "-P", "-m", "plant.broker.embedded", "--port", str(self.port)]
        if self.users:
            argv += ["--password-file", str(self.password_path)]
        return argv


class _Snapshots(dict[str, Any]):
    """A dict whose iteration goes over a snapshot of its keys / items.

    amqtt 0.12 iterates its subscription table across ``await`` points (retained messages
    for a connecting client, each broadcast); a subscription added meanwhile by another
    client raised "dictionary changed size during iteration" and dropped that connection.
    """

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().__iter__()))

    def items(self) -> Any:
        return list(super().items())


async def _serve(port: int, password_file: Path | None) -> None:
    from amqtt.broker import Broker

    broker = Broker(broker_config(port, password_file))
    broker._subscriptions = _Snapshots()  # see _Snapshots
    await broker.start()
    print(f"amqtt broker listening on 127.0.0.1:{port} (MQTT 3.1.1)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main(argv: list[str] | None = None) -> int:
    """``python -m plant.broker.embedded``: serve until SIGTERM / Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m plant.broker.embedded",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=1883, help="TCP port on 127.0.0.1")
    parser.add_argument("--password-file", type=Path, default=None,
                        help="user:argon2-hash lines; without it any user name is let in")
    parser.add_argument("--log-level", default="WARNING", help="amqtt's log level")
    args = parser.parse_args(argv)
    setup_logging(args.log_level.upper())
    if args.password_file is not None and not args.password_file.is_file():
        parser.error(f"--password-file: no such file {args.password_file}")
    try:
        asyncio.run(_serve(args.port, args.password_file))
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
