"""``peakline plant provision``: give camera nodes and the plant their own MQTT identities.

    peakline plant provision node --site S --line L --node N \\
        --passwd-file /etc/mosquitto/peakline.passwd --acl-file /etc/mosquitto/peakline.acl \\
        --secret-out /secure/n1.secret
    peakline plant provision plant --site S --passwd-file ... --acl-file ... --secret-out ...
    peakline plant provision erp --site S --passwd-file ... --acl-file ... --secret-out ...
    peakline plant provision supplier --site S --supplier P --passwd-file ... --acl-file ...
    peakline plant provision revoke --username node/S/L/N --passwd-file ... --acl-file ...
    peakline plant provision list --acl-file ...

The password is generated here, written to ``--secret-out`` with mode 0600 (or, without it,
printed once on standard output) and never logged. Reload the broker afterwards
(``systemctl reload mosquitto`` or ``kill -HUP <pid>``) so it reads the new files.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from peakline.cliargs import NAME, ExistingFile, OutputFile, Text

__all__ = ["add_provision_commands", "register"]

log = logging.getLogger("peakline.provision")


#: a Mosquitto identity this command writes: node/<site>/<line>/<node>, plant/<site>,
#: erp/<site>, supplier/<site>/<supplier>
USERNAME = Text(
    pattern=r"node(/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}){3}|(plant|erp)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
    r"|supplier(/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}){2}",
    rule="must be node/SITE/LINE/NODE, plant/SITE, erp/SITE or supplier/SITE/SUPPLIER",
    bad=("node/s1", "admin"))
#: a topic a node may also publish: exact, without MQTT wildcards
TOPIC = Text(pattern=r"[^+#\x00]+", rule="must be an exact topic, without + or # wildcards",
             bad=("plc/+/coil", "#"))


def _files(p: argparse.ArgumentParser) -> None:
    p.add_argument("--passwd-file", type=OutputFile("password file"), required=True,
                   help="Mosquitto password_file (created if missing)")
    p.add_argument("--acl-file", type=OutputFile("ACL file"), required=True,
                   help="Mosquitto acl_file (created if missing)")


def _secret_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--secret-out", type=OutputFile("secret file"),
                   help="write the new password here (mode 0600); default: print it once")
    p.add_argument("--rotate", action="store_true",
                   help="give an existing identity a new password")


def _files_of(args: argparse.Namespace) -> tuple[Path, Path]:
    """(password file, ACL file) of the command line."""
    return Path(args.passwd_file), Path(args.acl_file)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _hand_over(username: str, secret: str, out: Path | None) -> None:
    from plant.broker.identities import write_secret

    if out is not None:
        write_secret(out, secret)
        log.info("secret for %s written to %s (mode 0600)", username, out)
        print(f"{username}: password written to {out}")
    else:
        print(f"{username}: password (shown once, store it now): {secret}")
    print("reload the broker to apply: systemctl reload mosquitto (or kill -HUP its pid)")


def _node(args: argparse.Namespace) -> int:
    from plant.broker.identities import provision_node

    ident = provision_node(args.site, args.line, args.node, *_files_of(args),
                           rotate=args.rotate, extra_write=args.allow_write)
    _hand_over(ident.username, ident.secret, _path(args.secret_out))
    return 0


def _plant(args: argparse.Namespace) -> int:
    from plant.broker.identities import provision_plant

    ident = provision_plant(args.site, *_files_of(args), rotate=args.rotate)
    _hand_over(ident.username, ident.secret, _path(args.secret_out))
    return 0


def _erp(args: argparse.Namespace) -> int:
    from plant.broker.identities import provision_erp

    ident = provision_erp(args.site, *_files_of(args), rotate=args.rotate)
    _hand_over(ident.username, ident.secret, _path(args.secret_out))
    return 0


def _supplier(args: argparse.Namespace) -> int:
    from plant.broker.identities import provision_supplier

    ident = provision_supplier(args.site, args.supplier, *_files_of(args), rotate=args.rotate)
    _hand_over(ident.username, ident.secret, _path(args.secret_out))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from plant.broker.identities import revoke

    revoke(args.username, *_files_of(args))
    print(f"{args.username}: revoked; reload the broker to apply")
    return 0


def _list(args: argparse.Namespace) -> int:
    from plant.broker.identities import AclFile

    for user, lines in sorted(AclFile(Path(args.acl_file)).blocks().items()):
        print(user)
        for line in lines:
            print(f"    {line}")
    return 0


def add_provision_commands(subparsers: Any) -> None:
    """Add ``provision {node,plant,erp,supplier,revoke,list}`` to ``peakline plant``."""
    parser = subparsers.add_parser(
        "provision", help="MQTT identities and ACLs for camera nodes, the plant and suppliers",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    register(parser)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``node``, ``plant``, ``erp``, ``supplier``, ``revoke`` and ``list`` actions."""
    sub = parser.add_subparsers(dest="provision_command", metavar="ACTION", required=True)
    node = sub.add_parser("node", help="identity for one camera node")
    node.add_argument("--site", required=True, type=NAME, help="site name")
    node.add_argument("--line", required=True, type=NAME, help="production line name")
    node.add_argument("--node", required=True, type=NAME, help="camera node name")
    node.add_argument("--allow-write", action="append", default=[], metavar="TOPIC", type=TOPIC,
                      help="also let it publish this exact topic (an MQTT reject actuator's"
                      " PLC gateway outside the node's subtree); repeatable")
    _files(node)
    _secret_opts(node)
    node.set_defaults(handler=_node)

    plant = sub.add_parser("plant", help="identity for the plant service of a site")
    plant.add_argument("--site", required=True, type=NAME, help="site name")
    _files(plant)
    _secret_opts(plant)
    plant.set_defaults(handler=_plant)

    erp = sub.add_parser("erp", help="identity for the ERP bridge of a site")
    erp.add_argument("--site", required=True, type=NAME, help="site name")
    _files(erp)
    _secret_opts(erp)
    erp.set_defaults(handler=_erp)

    sup = sub.add_parser("supplier", help="identity for one supplier: reads only its own feed,"
                         " publishes only its own replies")
    sup.add_argument("--site", required=True, type=NAME, help="site name")
    sup.add_argument("--supplier", required=True, type=NAME,
                     help="supplier code (as in the suppliers master data)")
    _files(sup)
    _secret_opts(sup)
    sup.set_defaults(handler=_supplier)

    rev = sub.add_parser("revoke", help="remove an identity")
    rev.add_argument("--username", required=True, type=USERNAME,
                     help="the identity, e.g. node/S/L/N or plant/S")
    _files(rev)
    rev.set_defaults(handler=_revoke)

    lst = sub.add_parser("list", help="identities and their ACLs")
    lst.add_argument("--acl-file", type=ExistingFile("ACL file"), required=True,
                     help="Mosquitto acl_file written by `provision`")
    lst.set_defaults(handler=_list)
