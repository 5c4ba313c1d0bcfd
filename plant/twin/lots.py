"""From the programme's boxes per SKU, line and week to the day-by-day lots a line runs.

Within a bucket a line runs its SKUs grouped by flavour (the flavour it ended the last bucket
with first, then by earliest need) and, within a flavour, by pack format, so it changes over
as often as the programme counted and no more. The lots are laid over the bucket's working
days in that order, each day filled to its regular hours times the line's availability plus
its share of the planned overtime; a lot that does not fit continues the next day (the same
SKU: no changeover). Each row carries ``seq``, its place in the line's day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plant.twin.optimise import Problem, Solution

__all__ = ["lots_from_solution"]


def lots_from_solution(p: Problem, sol: Solution, need_dates: pd.DataFrame,
                       working: np.ndarray) -> pd.DataFrame:
    """Production plan rows (sku, date, need_date, source, line, qty_start, qty_good,
    channel, seq). ``working[line, day]`` says which days a line works; ``need_dates`` has
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
    for ln in range(n_l):
        beh = p.behaviour[names[ln]]
        avail = beh.mtbf / (beh.mtbf + beh.mttr)
        last: tuple[str, str] | None = None
        for b in range(n_b):
            days = [d for d in range(b * p.bucket_days, (b + 1) * p.bucket_days)
                    if d < working.shape[1] and working[ln, d]]
            todo = [s for s in range(n_s) if sol.start_boxes[s, ln, b] >= 0.5]
            if not days or not todo:
                continue
            order = _sequence(skus, todo, last, needs, p.start + dt.timedelta(b * p.bucket_days))
            budget = per_day[ln] * avail + sol.overtime[ln, b] / len(days)
            di, used, seq = 0, 0.0, 0
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
                        di, used, seq = di + 1, 0.0, 0
                        continue
                    take = left if di == len(days) - 1 else min(left, np.floor(room))
                    if take <= 0:
                        break
                    day = p.start + dt.timedelta(days=days[di])
                    rows.append(_row(skus, s, day, needs, names[ln], take, beh.reject_mean, seq))
                    seq += 1
                    used += take / rate[ln]
                    left -= take
    cols = ["sku", "date", "need_date", "source", "line", "qty_start", "qty_good", "channel",
            "seq"]
    return pd.DataFrame(rows, columns=cols)


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
