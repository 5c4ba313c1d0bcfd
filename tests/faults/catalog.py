"""Every fault scenario by name, and what each must show: shared by pytest and the bench.

``SCENARIOS`` maps a name to ``(workdir) -> Tally``; ``problems(name, tally)`` lists the
promises a run broke (empty when it kept them all): nothing lost, nothing stored twice,
the fault really happened (the queue overflowed, the link was cut, the kill caught
unacknowledged results) and the scenario's own bound (the Last Will's delay, the outbox
policy's exact, reported refusals).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from . import scenarios as s
from . import scenarios_link as link
from . import scenarios_node as node
from .counting import Tally

__all__ = ["EXTRA", "SCENARIOS", "WILL_BROKER_SLACK_S", "WILL_PLANT_S", "problems",
           "will_bound_s"]

#: Mosquitto 2.0 files each client under the whole second ``last_packet_s + keepalive*3//2``
#: and expires that bucket once its clock has passed it, waking for it up to a second late:
#: the Will goes out 1 to 3 s after floor(1.5 x keep-alive) from the client's last packet
#: (measured 1.73-2.03 keep-alives at 2 and 5 s, up to 10.0 s at 5 s). One second more for a
#: broker woken late on a loaded machine.
WILL_BROKER_SLACK_S = 4.0
#: from the Will on the broker to the plant's database recording the node offline: one ingest
#: flush and commit, tens of milliseconds; two seconds is a margin load cannot eat, and a
#: plant that is slow to record presence still fails
WILL_PLANT_S = 2.0


def will_bound_s(keepalive_s: int) -> float:
    """The latest the broker may send a silent node's Last Will, from its last packet."""
    return keepalive_s * 3 // 2 + WILL_BROKER_SLACK_S


SCENARIOS: dict[str, Callable[[Path], Tally]] = {
    "broker_kill_persistent": partial(s.broker_kill, persistence=True),
    "broker_kill_no_persistence": partial(s.broker_kill, persistence=False),
    "plant_stall_past_queue": s.plant_stall,
    "edge_kill9_mid_batch": s.edge_kill9,
    "plant_kill9_sqlite": s.plant_kill9,
    "plant_kill9_postgres": partial(s.plant_kill9, postgres=True, kills=2),
    "real_node_kill9": node.real_node_kill9,
    "partition": link.partition,
    "slow_link": link.slow_link,
    "half_open": link.half_open,
    "duplicates_reordered": link.duplicates_reordered,
    "last_will": link.last_will,
    "fifty_nodes_reconnect": s.fifty_nodes,
    "outbox_bound": s.outbox_bound,
}


#: longer runs only the bench does (``bench/faults.py --extra``): a link slower than the
#: node's output, where every resend competes with new results for the bandwidth
EXTRA: dict[str, Callable[[Path], Tally]] = {
    "slow_link_saturated": partial(link.slow_link, bandwidth_bps=15_000),
    "last_will_keepalive_5s": partial(link.last_will, keepalive_s=5),
}


def problems(name: str, t: Tally) -> list[str]:
    """The promises scenario ``name`` broke in run ``t``; empty when all were kept."""
    out = []
    if t.sent <= 0:
        out.append("nothing was sent")
    if t.lost:
        out.append(f"{t.lost} results lost")
    if t.duplicated:
        out.append(f"{t.duplicated} results stored twice")
    if t.stored != t.sent:
        out.append(f"stored {t.stored} != sent {t.sent}")
    x = t.extra
    if name == "broker_kill_persistent" and not x.get("broker_saved"):
        out.append("the broker never wrote its persistence file: persistence was not on")
    elif name == "plant_stall_past_queue":
        if not x.get("broker_dropped_notices"):
            out.append("the broker's queue for the plant never overflowed")
        if x.get("plant_will_s") is None:
            out.append("the plant's Last Will was not seen")
    elif name == "edge_kill9_mid_batch":
        if not x.get("unacked_at_kill"):
            out.append("the kill caught no unacknowledged results")
        if x.get("boots") != 2:
            out.append(f"expected 2 boots, saw {x.get('boots')}")
    elif name == "real_node_kill9":
        if not x.get("unacked_at_kill") or x.get("boots") != 2:
            out.append(f"the kill caught {x.get('unacked_at_kill')} unacked results, "
                       f"{x.get('boots')} boots (want > 0 and 2)")
        if x.get("left_in_outbox") or x.get("exit_status") != 0:
            out.append(f"graceful stop left {x.get('left_in_outbox')} rows, "
                       f"exit status {x.get('exit_status')}")
    elif name == "partition" and not x.get("edge_disconnects"):
        out.append("the partition did not disconnect the edge")
    elif name == "half_open" and not x.get("dropped_bytes"):
        out.append("the half-open link dropped nothing")
    elif name == "duplicates_reordered" and x.get("ack_at_hole") != 300:
        out.append(f"ack passed the hole: {x.get('ack_at_hole')} (want 300)")
    elif name.startswith("last_will"):
        bound = will_bound_s(int(x["keepalive_s"]))
        if float(x["will_s_max"]) > bound:
            out.append(f"the broker sent the Will after {x['will_s_max']} s > {bound} s")
        if float(x["will_plant_s_max"]) > WILL_PLANT_S:
            out.append(f"the plant recorded the Will {x['will_plant_s_max']} s after the "
                       f"broker sent it > {WILL_PLANT_S} s")
    elif name == "fifty_nodes_reconnect" and x.get("nodes_back_online") != x.get("nodes"):
        out.append(f"only {x.get('nodes_back_online')} of {x.get('nodes')} nodes came back")
    elif name == "outbox_bound":
        expected = x.get("expected_dropped", {})
        if x.get("outbox_dropped") != expected:
            out.append(f"outbox refused {x.get('outbox_dropped')}, policy says {expected}")
        total = sum(expected.values())
        if t.policy_dropped != total or x.get("reported_dropped") != total:
            out.append(f"refusals counted {t.policy_dropped}, reported "
                       f"{x.get('reported_dropped')}, want {total}")
    return out
