"""The demo line's MQTT broker: Mosquitto when it is installed, else the embedded amqtt broker.

:func:`choose_broker` looks for ``mosquitto`` on PATH. Found, the demo runs it with the
shipped settings (MQTT 5, persistence on). Not found, it runs :mod:`plant.broker.embedded`
(amqtt, MQTT 3.1.1) on loopback, with a user name and a random password made for this run,
and every camera node and the plant connect with ``protocol = "3.1.1"`` and those
credentials (passed in the environment of the child processes, never written to their
configs). Either way the broker is one child process of the demo, started by its argv.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from peakline.procs import free_port
from plant.broker.embedded import EmbeddedBroker
from plant.broker.process import Mosquitto

__all__ = ["PASSWORD_ENV", "DemoBroker", "choose_broker"]

PASSWORD_ENV = "PEAKLINE_DEMO_MQTT_PASSWORD"
_USER = "peakline-demo"


@dataclass(frozen=True)
class DemoBroker:
    """How to run the demo's broker and how its clients connect to it."""

    kind: Literal["mosquitto", "amqtt"]
    port: int
    argv: list[str]
    protocol: Literal["5", "3.1.1"]
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def description(self) -> str:
        """One line for the terminal: which broker, which MQTT version."""
        if self.kind == "mosquitto":
            return f"Mosquitto on 127.0.0.1:{self.port} (MQTT 5, persistence on)"
        return (f"embedded amqtt broker on 127.0.0.1:{self.port} (MQTT 3.1.1; Mosquitto is "
                "not installed, so the delivery guarantee rests on the plant's acks alone)")

    @property
    def client_env(self) -> dict[str, str]:
        """Environment for the broker's clients (the nodes and the plant)."""
        return {PASSWORD_ENV: self.password} if self.password else {}

    def client_toml(self) -> str:
        """Lines for a node's or the plant's ``[mqtt]`` table (after host and port)."""
        lines = [f'protocol = "{self.protocol}"']
        if self.username:
            lines += [f'username = "{self.username}"', f'password_env = "{PASSWORD_ENV}"']
        return "\n".join(lines) + "\n"


def _mosquitto(folder: Path, exe: str) -> DemoBroker:
    # plant.broker.process writes the shipped settings; the demo runs it as its own child, as the
    # user that runs the demo (plant.broker.process keeps root from switching to user "mosquitto").
    broker = Mosquitto(folder, port=free_port(), executable=exe)
    broker.prepare()
    return DemoBroker("mosquitto", broker.port, broker.argv(), "5")


def _embedded(folder: Path) -> DemoBroker:
    password = secrets.token_urlsafe(18)
    broker = EmbeddedBroker(folder, port=free_port(), users={_USER: password})
    broker.prepare()
    return DemoBroker("amqtt", broker.port, broker.argv(), "3.1.1", _USER, password)


def choose_broker(
    folder: Path, which: Callable[[str], str | None] = shutil.which
) -> DemoBroker:
    """Mosquitto if ``which("mosquitto")`` finds it, else the embedded broker; files in
    ``folder`` (which must exist)."""
    exe = which("mosquitto")
    return _mosquitto(folder, exe) if exe else _embedded(folder)
