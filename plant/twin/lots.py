"""From the programme's boxes per SKU, line and week to the day-by-day lots a line runs.

Within a bucket a line runs its SKUs grouped by flavour (the flavour it ended the last bucket
with first, then by earliest need) and, within a flavour, by pack format, so it changes over
as often as the programme counted and no more. The lots are laid over the bucket's working
days in that order, each day filled to its regular hours times the line's availability plus
its share of the planned overtime; a lot that does not fit continues the next day (the same
SKU: no changeover). Each row carries ``seq``, its place in the line's day.

Held web shop orders are scheduled before the programme, day by day (:func:`hold_lots`): each
within its own window (:mod:`plant.planning.holds`: no later than the festival's eve or the
day before its held delivery, no earlier than keeps the shelf life a customer accepts on that
day), latest held day first, backwards from the window's last working day over the lines in
order, each day's lines at their regular hours times availability. Those lots run first in
their line's day (rows with ``source`` 'hold' and the held day as ``need_date``, as in the
backward-scheduling plan, so the safekeeping stock counts them); the programme's lots fill
what is left of the day. What does not fit its window is a shortfall, never a silent drop.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from plant.planning.holds import SHORT_COLUMNS
from plant.twin.measure import LineBehaviour
from plant.twin.optimise import HeldLots, Problem, Solution

__all__ = ["LOT_COLUMNS", "hold_lots", "lots_from_solution"]

#: the columns of a lot (a production plan row of the optimised plan)
LOT_COLUMNS = ["sku", "date", "need_date", "source", "line", "qty_start", "qty_good",
               "channel", "seq"]


def hold_lots(held: pd.DataFrame, impossible: pd.DataFrame, skus: pd.DataFrame,
              lines: pd.DataFrame, behaviour: dict[str, LineBehaviour], working: np.ndarray,
              start: dt.date) -> HeldLots:
    """The held orders' lots by the rule of the module docstring.

    ``held``, ``impossible``: :func:`plant.planning.holds.hold_requirements` (good boxes per
    SKU and held day with their ``earliest, latest`` production days; the holds that have no
    window); ``working[line, day]``: the days each line works."""
    names = [str(x) for x in lines["line"]]
    rate = lines["units_per_hour"].to_numpy(float)
    hours = (lines["hours_per_shift"].to_numpy(float)
             * lines["shifts_per_day"].to_numpy(float))
    avail = np.array([behaviour[n].availability for n in names])
    reject = np.array([behaviour[n].reject_mean for n in names])
    channel = skus.set_index("sku")["channel"]
    busy = np.zeros(working.shape)
    rows, short = [], impossible.to_dict("records")
    first = pd.Timestamp(start)
    for r in held.sort_values(["need_date", "sku"], ascending=False).itertuples(index=False):
        want = float(r.qty)  # good boxes
        hi = min((pd.Timestamp(r.latest) - first).days, working.shape[1] - 1)
        lo = max(0, (pd.Timestamp(r.earliest) - first).days)
        for d in range(hi, lo - 1, -1):
            for ln in range(len(names)):
                room = math.floor((hours[ln] * avail[ln] - busy[ln, d]) * rate[ln] + 1e-9)
                if want <= 1e-9 or not working[ln, d] or room < 1:
                    continue
                boxes = min(room, math.ceil(want / (1 - reject[ln]) - 1e-9))
                busy[ln, d] += boxes / rate[ln]
                want -= boxes * (1 - reject[ln])
                rows.append({"sku": r.sku, "date": first + pd.Timedelta(days=d),
                             "need_date": pd.Timestamp(r.need_date), "source": "hold",
                             "line": names[ln], "qty_start": float(boxes),
                             "qty_good": round(boxes * (1 - reject[ln]), 1),
                             "channel": str(channel.get(r.sku, "")), "seq": 0})
        if want > 1e-6:
            short.append({"sku": r.sku, "need_date": r.need_date, "source": "hold",
                          "short_units": want, "kind": "capacity_shortfall",
                          "reason": f"line capacity between {pd.Timestamp(r.earliest):%Y-%m-%d}"
                                    f" and {pd.Timestamp(r.latest):%Y-%m-%d}, the days a held "
                                    "box can be made"})
    lots = pd.DataFrame(rows, columns=LOT_COLUMNS)
    if len(lots):
        lots = lots.sort_values(["line", "date", "need_date", "sku"], ignore_index=True)
        lots["seq"] = lots.groupby(["line", "date"]).cumcount()
    return HeldLots(lots, pd.DataFrame(short, columns=SHORT_COLUMNS), busy)


def lots_from_solution(p: Problem, sol: Solution, need_dates: pd.DataFrame,
                       working: np.ndarray) -> pd.DataFrame:
    """Production plan rows (:data:`LOT_COLUMNS`): the held orders' lots (``p.held``) and the
    programme's. ``working[line, day]`` says which days a line works; ``need_dates`` has
    each SKU's need dates (columns sku, need_date)."""
    skus = p.skus.reset_index(drop=True)
    names = [str(x) for x in p.lines["line"]]
    rate = p.lines["units_per_hour"].to_numpy(float)
    per_day = (p.lines["hours_per_shift"].to_numpy(float)
               * p.lines["shifts_per_day"].to_numpy(float))
    cfg = p.cfg
    needs = {s: np.sort(pd.to_datetime(g["need_date"]).to_numpy())
             for s, g in need_dates.groupby("sku")}
    rows = []
    n_s, n_l, n_b = sol.start_boxes.shape
    held = p.held
    busy = held.busy if held is not None else np.zeros(working.shape)
    n_held = (held.rows.groupby(["line", "date"]).size().to_dict()
              if held is not None and len(held.rows) else {})

    def opening(ln: int, d: int) -> tuple[float, int]:
        """(hours the held orders' lots take, their count) on line ``ln``'s day ``d``."""
        day = pd.Timestamp(p.start + dt.timedelta(days=d))
        return float(busy[ln, d]), int(n_held.get((names[ln], day), 0))

    for ln in range(n_l):
        beh = p.behaviour[names[ln]]
        avail = beh.availability
        last: tuple[str, str] | None = None
        for b in range(n_b):
            days = [d for d in range(b * p.bucket_days, (b + 1) * p.bucket_days)
                    if d < working.shape[1] and working[ln, d]]
            todo = [s for s in range(n_s) if sol.start_boxes[s, ln, b] >= 0.5]
            if not days or not todo:
                continue
            order = _sequence(skus, todo, last, needs, p.start + dt.timedelta(b * p.bucket_days))
            budget = per_day[ln] * avail + sol.overtime[ln, b] / len(days)
            di = 0
            used, seq = opening(ln, days[di])
            for s in order:
                key = (str(skus.at[s, "flavour"]), str(skus.at[s, "packaging"]))
                if last is not None and key != last:
                    used += (cfg.changeover_flavour_min if key[0] != last[0]
                             else cfg.changeover_pack_min) / 60.0
                last = key
                left = float(round(sol.start_boxes[s, ln, b]))
                while left > 0:
                    room = max(0.0, budget - used) * rate[ln]
                    if room < 1 and di < len(days) - 1:
                        di += 1
                        used, seq = opening(ln, days[di])
                        continue
                    take = left if di == len(days) - 1 else min(left, np.floor(room))
                    if take <= 0:
                        break
                    day = p.start + dt.timedelta(days=days[di])
                    rows.append(_row(skus, s, day, needs, names[ln], take, beh.reject_mean, seq))
                    seq += 1
                    used += take / rate[ln]
                    left -= take
    made = pd.DataFrame(rows, columns=LOT_COLUMNS)
    if held is None or held.rows.empty:
        return made
    parts = [df for df in (held.rows, made) if len(df)]
    return pd.concat(parts, ignore_index=True).sort_values(["line", "date", "seq"],
                                                          ignore_index=True)


def _sequence(skus: pd.DataFrame, todo: list[int], last: tuple[str, str] | None,
              needs: dict[str, np.ndarray], first_day: dt.date) -> list[int]:
    """SKUs grouped by flavour then pack, continuing the line's last flavour and pack."""
    def first_need(s: int) -> np.datetime64:
        arr = needs.get(str(skus.at[s, "sku"]), np.array([], dtype="datetime64[ns]"))
        later = arr[arr >= np.datetime64(first_day)]
        return later[0] if len(later) else np.datetime64("2262-01-01")

    by_flavour: dict[str, list[int]] = {}
    for s in sorted(todo, key=first_need):
        by_flavour.setdefault(str(skus.at[s, "flavour"]), []).append(s)
    flavours = sorted(by_flavour, key=lambda f: (last is None or f != last[0],
                                                 min(first_need(s) for s in by_flavour[f])))
    order = []
    for f in flavours:
        group = by_flavour[f]
        packs = sorted({str(skus.at[s, "packaging"]) for s in group},
                       key=lambda pk: (last is None or (f, pk) != last,
                                       min(first_need(s) for s in group
                                           if skus.at[s, "packaging"] == pk)))
        for pk in packs:
            order += [s for s in group if skus.at[s, "packaging"] == pk]
    return order


def _row(skus: pd.DataFrame, s: int, day: dt.date, needs: dict[str, np.ndarray], line: str,
         qty: float, reject: float, seq: int) -> dict:
    sku = str(skus.at[s, "sku"])
    arr = needs.get(sku, np.array([], dtype="datetime64[ns]"))
    later = arr[arr > np.datetime64(day)]
    need = pd.Timestamp(later[0]) if len(later) else pd.Timestamp(day) + pd.Timedelta(days=1)
    return {"sku": sku, "date": pd.Timestamp(day), "need_date": need, "source": "optimised",
            "line": line, "qty_start": qty, "qty_good": round(qty * (1 - reject), 1),
            "channel": str(skus.at[s, "channel"]), "seq": seq}
