"""Device identities for the MQTT broker: one Mosquitto user and ACL per camera node and plant.

``peakline plant provision`` uses this module to give each camera node its own username and a
strong random password (hashed into Mosquitto's password file by ``mosquitto_passwd``), and an
ACL block that lets it publish only its own ``peakline/v1/<site>/<line>/<node>/{status,
results,metrics,rejects}`` (no line may be called ``plant``, ``erp``, ``plans`` or
``suppliers``) and read only its own ``cmd``, the plant's status and its own acks. The plant
service gets one identity per site that reads every topic of the site and writes acks,
status, plans and node commands; the ERP bridge gets one that writes the site's ``erp/#``
inputs and reads its plans. Each supplier gets one that reads only its own feed and
publishes only its own replies.

The plant refuses results from nodes that are not provisioned (:class:`ProvisionedNodes`, used
by ``plant.ingest.classify`` when ``ingest.provisioned_acl`` is set). Secrets are generated here,
handed to the caller once, and never logged; the password goes to ``mosquitto_passwd`` on its
standard input, not its command line.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from peakline.errors import ConfigError
from peakline.wire import NODE_UPLINK, ROOT, NodeLeaf, Topics
from plant.broker.files import AclFile, PasswdFile, write_secret

__all__ = [
    "AclFile",
    "PasswdFile",
    "Provisioned",
    "ProvisionedNodes",
    "erp_acl",
    "erp_identity",
    "generate_secret",
    "node_acl",
    "node_identity",
    "plant_acl",
    "plant_identity",
    "provision_erp",
    "provision_node",
    "provision_plant",
    "provision_supplier",
    "revoke",
    "supplier_acl",
    "supplier_identity",
    "write_secret",
]

log = logging.getLogger("peakline.security")
_NODE_USER = re.compile(r"^node/([^/]+)/([^/]+)/([^/]+)$")


def node_identity(site: str, line: str, node: str) -> str:
    """The broker username of a camera node: ``node/<site>/<line>/<node>``."""
    Topics(site).node(line, node, NodeLeaf.STATUS)  # validates the three names
    return f"node/{site}/{line}/{node}"


def plant_identity(site: str) -> str:
    """The broker username of a site's plant service: ``plant/<site>``."""
    Topics(site)
    return f"plant/{site}"


def erp_identity(site: str) -> str:
    """The broker username of the ERP bridge that feeds a site: ``erp/<site>``."""
    Topics(site)
    return f"erp/{site}"


def supplier_identity(site: str, supplier: str) -> str:
    """The broker username of a supplier: ``supplier/<site>/<supplier>``."""
    Topics(site).supplier_feed(supplier)  # validates both names
    return f"supplier/{site}/{supplier}"


def node_acl(site: str, line: str, node: str, extra_write: Sequence[str] = ()) -> list[str]:
    """ACL lines: publish exactly its own leaves (status, results, metrics, rejects); read its
    commands, the plant status and its own acks.

    ``extra_write`` adds exact topics (no wildcards) outside the subtree, for an MQTT reject
    actuator whose PLC gateway listens elsewhere.
    """
    t = Topics(site)
    for topic in extra_write:
        if not topic or any(c in topic for c in "+#\n\r\0") or topic.startswith("$"):
            raise ConfigError(f"--allow-write takes exact topics without wildcards: {topic!r}")
        if topic.split("/")[0] == ROOT.split("/")[0]:
            raise ConfigError(f"--allow-write {topic!r}: the {ROOT}/ tree is Peakline's own; "
                              "a reject gateway topic must be outside it")
    return [
        *(f"topic write {t.node(line, node, leaf)}" for leaf in NODE_UPLINK),
        *(f"topic write {topic}" for topic in extra_write),
        f"topic read {t.node(line, node, NodeLeaf.CMD)}",
        f"topic read {t.plant_status}",
        f"topic read {t.plant_ack(line, node)}",
    ]


def plant_acl(site: str) -> list[str]:
    """ACL lines: read the whole site; write plant status/acks, plans and node commands."""
    base = Topics(site).base
    return [
        f"topic read {base}/#",
        f"topic write {base}/plant/#",
        f"topic write {base}/plans/#",
        f"topic write {base}/+/+/cmd",
        f"topic write {base}/suppliers/+/feed",
    ]


def erp_acl(site: str) -> list[str]:
    """ACL lines: write orders/sales/cancellations/inventory; read the published plans."""
    base = Topics(site).base
    return [f"topic write {base}/erp/#", f"topic read {base}/plans/#"]


def supplier_acl(site: str, supplier: str) -> list[str]:
    """ACL lines: read its own feed; write its own replies. Nothing else of the site."""
    t = Topics(site)
    return [f"topic read {t.supplier_feed(supplier)}", f"topic write {t.supplier_reply(supplier)}"]


def generate_secret() -> str:
    """A 256-bit random password, URL-safe (no ':' or newline, which Mosquitto forbids)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Provisioned:
    """A new identity. ``secret`` is shown to the operator once and must not be logged."""

    username: str
    secret: str

    def __repr__(self) -> str:  # keep the secret out of tracebacks and debug logs
        return f"Provisioned(username={self.username!r}, secret=<hidden>)"


def _provision(user: str, acl: list[str], passwd: PasswdFile, acl_file: AclFile,
               rotate: bool) -> Provisioned:
    if user in passwd.users() and not rotate:
        raise ConfigError(f"{user} is already provisioned; pass --rotate to give it a new"
                          " password (the running device must then be given the new one)")
    secret = generate_secret()
    passwd.set(user, secret)
    acl_file.put(user, acl)
    log.info("provisioned %s (password file %s, ACL %s)", user, passwd.path, acl_file.path)
    return Provisioned(user, secret)


def provision_node(site: str, line: str, node: str, passwd_file: Path, acl_file: Path,
                   rotate: bool = False, extra_write: Sequence[str] = ()) -> Provisioned:
    """Create (or with ``rotate``, re-key) a camera node's identity and ACL."""
    return _provision(node_identity(site, line, node), node_acl(site, line, node, extra_write),
                      PasswdFile(passwd_file), AclFile(acl_file), rotate)


def provision_plant(site: str, passwd_file: Path, acl_file: Path,
                    rotate: bool = False) -> Provisioned:
    """Create (or re-key) the plant service's identity for ``site``."""
    return _provision(plant_identity(site), plant_acl(site), PasswdFile(passwd_file),
                      AclFile(acl_file), rotate)


def provision_erp(site: str, passwd_file: Path, acl_file: Path,
                  rotate: bool = False) -> Provisioned:
    """Create (or re-key) the identity of the ERP bridge for ``site``."""
    return _provision(erp_identity(site), erp_acl(site), PasswdFile(passwd_file),
                      AclFile(acl_file), rotate)


def provision_supplier(site: str, supplier: str, passwd_file: Path, acl_file: Path,
                       rotate: bool = False) -> Provisioned:
    """Create (or re-key) the identity of one supplier of ``site``."""
    return _provision(supplier_identity(site, supplier), supplier_acl(site, supplier),
                      PasswdFile(passwd_file), AclFile(acl_file), rotate)


def revoke(username: str, passwd_file: Path, acl_file: Path) -> None:
    """Remove an identity from both files; the broker drops it after its next reload."""
    PasswdFile(passwd_file).delete(username)
    AclFile(acl_file).remove(username)
    log.info("revoked %s", username)


class ProvisionedNodes:
    """The camera nodes the plant accepts results from, read from the ACL (and password) file.

    Reloads by itself when either file changes (looking at most every ``check_interval_s``
    seconds), so a newly provisioned node is accepted without restarting the plant service.
    """

    def __init__(self, acl_file: Path, passwd_file: Path | None = None,
                 check_interval_s: float = 1.0) -> None:
        self.acl_file, self.passwd_file = acl_file, passwd_file
        self.check_interval_s = check_interval_s
        self._checked = 0.0
        self._stamp: tuple[float, ...] = ()
        self._nodes: frozenset[tuple[str, str, str]] = frozenset()
        self.reload()

    def _mtimes(self) -> tuple[float, ...]:
        files = [self.acl_file, *([self.passwd_file] if self.passwd_file else [])]
        return tuple(p.stat().st_mtime_ns if p.exists() else -1.0 for p in files)

    def reload(self) -> None:
        """Read the files again."""
        self._stamp = self._mtimes()
        users = set(AclFile(self.acl_file).blocks())
        if self.passwd_file is not None:
            users &= PasswdFile(self.passwd_file).users()
        found = (_NODE_USER.match(u) for u in users)
        self._nodes = frozenset((m[1], m[2], m[3]) for m in found if m)

    def is_provisioned(self, site: str, line: str, node: str) -> bool:
        """True if ``node`` on ``line`` at ``site`` has an identity and an ACL."""
        now = time.monotonic()
        if now - self._checked >= self.check_interval_s:
            self._checked = now
            if self._mtimes() != self._stamp:
                self.reload()
        return (site, line, node) in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)
