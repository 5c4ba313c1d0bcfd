"""The global boosted forecaster: LightGBM on lags, calendar, peak distance and regressors.

One model for all series (as LightGBM on lags and calendar features won M5), fitted on many
past origins of the history at once: each origin contributes every series' next ``h`` days,
with the features of :mod:`plant.forecast.boosted_features` and demand over the series' level
as the target. Four boosters: the mean (squared error) and P10/P50/P90 (quantile loss). Closed
days are left out of fitting and forecast as zero. LightGBM runs on one thread: on a shared
two-core machine its OpenMP threads waiting on each other made a round eight times slower.

The boosters learn from origins whose days all lie before the last ``h`` days of history;
those days are the held-out origin, scored before the forecast (the forecast itself then
starts from the full history: its lags include the held-out days). The held-out score sets,
per series, whether the boosted model or the weekly seasonal naive forecasts it, and a factor
that widens or narrows P10..P90 around P50 so that it covers 80% of those days (split
conformal calibration, :mod:`plant.forecast.conformal`). The last ``h`` days are often a
quiet stretch while the forecast runs into the peak, where repeating last week fails worst
and errors are largest; so, where half a year of history precedes it, the same season a year
earlier is a second held-out origin (aligned on the peak, so a moving feast such as Easter is
compared with itself), forecast by P10/P50/P90 boosters fitted only on the days before it. A
series is left to the seasonal naive only when that had the lower MAE on every held-out
origin, and the peak window (days -7..+2) takes its own interval factor, calibrated on the
held-out days that lay in it. (On Favorita's store transactions a quiet-stretch
choice alone handed 1-3 of 40 stores to the seasonal naive before each Christmas and cost
0.05 of MASE over 28 days, 0.10 over the peak window.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.boosted_features import FeatureMaker
from plant.forecast.conformal import in_peak_window, width_factor
from plant.forecast.exog_models import candidate_forecast
from plant.forecast.panel import Panel
from plant.peaks import DEFAULT_PEAK

__all__ = ["BoostedForecaster"]

_QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
_MIN_ORIGINS = 8
#: origins every fit learns from at least (spread over the history)
_SPREAD = 60
#: days of history a same-season held-out origin needs before it
_MIN_SEASON_TRAIN = 182


def _fit_saw_peak(fm: FeatureMaker, origin: int) -> bool:
    """Whether a fit on the days before ``origin`` saw a peak window: only then does its
    forecast of one guide the peak window's interval width."""
    return bool(in_peak_window(fm.peak_dist[:origin]).any())


def _seasonal_naive(panel: Panel, origin: int, h: int) -> np.ndarray:
    """The last week before ``origin`` repeated: ``(h, series)``; closed days in it are
    replaced by the same weekday a week earlier."""
    y = np.where(panel.open[: panel.n_hist], panel.y, np.nan)
    week = y[origin - 7 : origin].copy()
    earlier = y[origin - 14 : origin - 7] if origin >= 14 else week
    week = np.where(np.isnan(week), earlier, week)
    reps = np.vstack([week] * (h // 7 + 1))[:h]
    return np.nan_to_num(reps)


@dataclass
class BoostedForecaster:
    """Fit on a :class:`Panel` and forecast its horizon (P10/P50/P90 and mean)."""

    cal: HolidayCalendar
    peak: str = DEFAULT_PEAK
    max_rows: int = 80_000
    n_estimators: int = 200
    seed: int = 0
    choice: dict[str, str] = field(default_factory=dict)
    #: P10..P90 width factors around P50 (:mod:`plant.forecast.conformal`): other days, and
    #: the peak window
    width: float = 1.0
    peak_width: float = 1.0
    #: per-series candidates (:data:`plant.forecast.exog_models.CANDIDATES`) that may take a
    #: series from the boosted model by winning on every held-out origin
    candidates: tuple[str, ...] = ()

    def _params(self, objective: str, alpha: float | None = None) -> dict:
        params = {
            "objective": objective,
            "learning_rate": 0.05,
            "num_leaves": 31,
            "min_data_in_leaf": 50,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "feature_fraction": 0.8,
            "seed": self.seed,
            "num_threads": 1,
            "deterministic": True,
            "verbose": -1,
        }
        if alpha is not None:
            params["alpha"] = alpha
        return params

    def _training(self, fm: FeatureMaker, h: int, end: int) -> tuple[pd.DataFrame, np.ndarray]:
        """Feature rows and targets from origins whose horizon ends before row ``end``."""
        n_series = fm.y.shape[1]
        first = 35
        last = end - h
        if last - first < _MIN_ORIGINS:
            first = max(8, last - _MIN_ORIGINS)
        origins = np.arange(first, last + 1)
        if len(origins) == 0:
            return pd.DataFrame(), np.zeros(0)
        # at least _SPREAD origins (every season seen), with a random part of the series
        # each when there are many series, so the rows stay within max_rows
        keep = min(len(origins), max(_SPREAD, self.max_rows // max(1, n_series * h)))
        per_origin = max(1, min(n_series, self.max_rows // (keep * h)))
        rng = np.random.default_rng(self.seed)
        origins = np.sort(rng.choice(origins, size=keep, replace=False))
        frames, targets = [], []
        for o in origins:
            cols = None
            if per_origin < n_series:
                cols = np.sort(rng.choice(n_series, per_origin, replace=False))
            x, level = fm.rows(int(o), h, cols)
            y = fm.y[o : o + h] if cols is None else fm.y[o : o + h, cols]
            target = (y / np.where(level > 0, level, np.nan)[None, :]).reshape(-1)
            ok = np.isfinite(target)
            frames.append(x[ok])
            targets.append(target[ok])
        return pd.concat(frames, ignore_index=True), np.concatenate(targets)

    def _fit_models(
        self, x: pd.DataFrame, target: np.ndarray, names: tuple[str, ...] = ("mean", *_QUANTILES)
    ) -> dict:
        import lightgbm as lgb

        params = {"mean": self._params("regression")}
        for name, alpha in _QUANTILES.items():
            params[name] = self._params("quantile", alpha)
        params = {name: params[name] for name in names}
        data = lgb.Dataset(x, target, free_raw_data=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return {
                name: lgb.train(p, data, num_boost_round=self.n_estimators)
                for name, p in params.items()
            }

    @staticmethod
    def _predict(models: dict, fm: FeatureMaker, origin: int, h: int) -> dict[str, np.ndarray]:
        x, level = fm.rows(origin, h)
        n_series = len(level)
        lvl = np.nan_to_num(level)[None, :]
        is_open = fm.panel.open[origin : origin + h]
        out = {}
        for name, model in models.items():
            pred = model.predict(x).reshape(h, n_series) * lvl
            out[name] = np.where(is_open, np.clip(pred, 0, None), 0.0)
        q = np.sort(np.stack([out["p10"], out["p50"], out["p90"]]), axis=0)
        out["p10"], out["p50"], out["p90"] = q[0], q[1], q[2]
        return out

    @staticmethod
    def _maes(pred: np.ndarray, panel: Panel, origin: int, h: int) -> tuple[np.ndarray, np.ndarray]:
        """Per series, the MAE of ``pred`` and of the seasonal naive on ``h`` days from
        ``origin``."""
        actual = panel.y[origin : origin + h]
        is_open = panel.open[origin : origin + h]
        naive = np.where(is_open, _seasonal_naive(panel, origin, h), 0.0)
        return (np.abs(pred - actual).mean(axis=0), np.abs(naive - actual).mean(axis=0))

    def season_origin(self, fm: FeatureMaker, h: int) -> int | None:
        """The held-out origin a year before the forecast's, aligned on the peak nearest the
        horizon; None when less than :data:`_MIN_SEASON_TRAIN` days precede it."""
        n_hist = fm.panel.n_hist
        days = np.arange(n_hist, n_hist + h)
        nearest = days[np.argmin(np.abs(fm.peak_dist[days]))]
        origin = n_hist - int(fm.peak_shift[nearest])
        return origin if origin >= _MIN_SEASON_TRAIN and origin + h <= n_hist else None

    def _season_fit(self, fm: FeatureMaker, h: int) -> tuple[int, dict] | None:
        """The same-season held-out origin and the P10/P50/P90 boosters' forecast from it,
        fitted on the days before it (None without such an origin)."""
        origin = self.season_origin(fm, h)
        if origin is None:
            return None
        x, target = self._training(fm, h, origin)
        if len(target) == 0:
            return None
        models = self._fit_models(x, target, names=tuple(_QUANTILES))
        return origin, self._predict(models, fm, origin, h)

    def _validate(self, models: dict, panel: Panel, fm: FeatureMaker, h: int) -> None:
        """Choose per series (boosted or seasonal naive) on the held-out origins - the last
        ``h`` days of history, which ``models`` were fitted without, and the same season a
        year earlier - and calibrate the interval widths on them."""
        origin = panel.n_hist - h
        pred = self._predict(models, fm, origin, h)
        actual = panel.y[origin : panel.n_hist]
        mae_gbm, mae_naive = self._maes(pred["p50"], panel, origin, h)
        naive_wins = mae_naive < mae_gbm
        # a candidate with regressors takes a series from the boosted model only if it had
        # the lowest MAE of all on the last h days and beat the boosted model on the same
        # season a year earlier too
        rest = np.flatnonzero(~naive_wins)
        pick = np.full(len(naive_wins), "boosted", dtype=object)
        if self.candidates and len(rest):
            maes = np.stack(
                [mae_gbm[rest]]
                + [
                    np.abs(candidate_forecast(c, fm, origin, h, rest) - actual[:, rest]).mean(
                        axis=0
                    )
                    for c in self.candidates
                ]
            )
            pick[rest] = np.array(["boosted", *self.candidates], dtype=object)[maes.argmin(axis=0)]
        held_out = [(origin, pred)]
        # the same season a year earlier: for the choice, and the peak window's width
        # (its peak window counts for the width only if its own fit saw one: see _calibrate)
        s_origin = self.season_origin(fm, h)
        peak_width_from_season = (
            s_origin is not None
            and bool(in_peak_window(fm.peak_dist[panel.n_hist : panel.n_hist + h]).any())
            and _fit_saw_peak(fm, s_origin)
        )
        season = (
            self._season_fit(fm, h)
            if peak_width_from_season or naive_wins.any() or (pick != "boosted").any()
            else None
        )
        if season is not None:
            s_origin, s_pred = season
            held_out.append(season)
            s_gbm, s_naive = self._maes(s_pred["p50"], panel, s_origin, h)
            naive_wins &= s_naive < s_gbm
            for c in self.candidates:
                cand = np.flatnonzero(pick == c)
                if len(cand):
                    s_fc = candidate_forecast(c, fm, s_origin, h, cand)
                    s_mae = np.abs(s_fc - panel.y[s_origin : s_origin + h, cand]).mean(axis=0)
                    pick[cand[s_mae >= s_gbm[cand]]] = "boosted"
        self.choice = {
            str(i): ("seasonal_naive" if naive_wins[j] else str(pick[j]))
            for j, i in enumerate(panel.ids)
        }
        self._calibrate(held_out, panel, fm, h)

    def _calibrate(
        self, held_out: list[tuple[int, dict]], panel: Panel, fm: FeatureMaker, h: int
    ) -> None:
        """The interval widths (:mod:`plant.forecast.conformal`) from the held-out origins'
        forecasts, the last ``h`` days first: the other days' on its days outside the peak
        window, the peak window's on every origin's days in it."""
        origin = held_out[0][0]
        points = []
        for o, p in held_out:
            is_open = panel.open[o : o + h]
            window = np.broadcast_to(
                in_peak_window(fm.peak_dist[o : o + h])[:, None], is_open.shape
            )
            # the other days' width from the last h days only (as before the strata); the
            # peak window's from origins whose fit saw one (Favorita's first Christmas held
            # out, fitted on a year without one, missed by 26%: no guide to the next)
            keep = is_open & ((window & _fit_saw_peak(fm, o)) | (~window & (o == origin)))
            points.append(
                np.stack(
                    [
                        panel.y[o : o + h][keep],
                        p["p10"][keep],
                        p["p50"][keep],
                        p["p90"][keep],
                        window[keep],
                    ]
                )
            )
        act, lo, mid, hi, peak = np.concatenate(points, axis=1)
        other, peak = peak == 0, peak == 1
        self.width = width_factor(act[other], lo[other], mid[other], hi[other], min_days=1)
        self.peak_width = width_factor(act[peak], lo[peak], mid[peak], hi[peak], default=self.width)

    def forecast(self, panel: Panel) -> pd.DataFrame:
        """Columns ``unique_id, ds, p10, p50, p90, mean, model`` for the panel's horizon."""
        h = len(panel.future)
        fm = FeatureMaker(panel, self.cal, self.peak)
        x, target = self._training(fm, h, panel.n_hist - h)
        if len(target) == 0:
            raise DataError(f"history of {panel.n_hist} days is too short for a {h}-day horizon")
        models = self._fit_models(x, target)
        self._validate(models, panel, fm, h)
        pred = self._predict(models, fm, panel.n_hist, h)
        naive = np.where(panel.open[panel.n_hist :], _seasonal_naive(panel, panel.n_hist, h), 0.0)
        mid = pred["p50"]
        width = np.where(
            in_peak_window(fm.peak_dist[panel.n_hist :])[:, None], self.peak_width, self.width
        )
        lo = np.clip(mid - width * (mid - pred["p10"]), 0, None)
        hi = mid + width * (pred["p90"] - mid)
        use_naive = np.array([self.choice.get(str(i)) == "seasonal_naive" for i in panel.ids])
        for c in self.candidates:
            use = np.array([self.choice.get(str(i)) == c for i in panel.ids])
            if use.any():
                naive[:, use] = candidate_forecast(c, fm, panel.n_hist, h, np.flatnonzero(use))
                use_naive |= use
        # seasonal naive keeps the boosted model's relative interval around its own point
        ratio_lo = np.divide(lo, mid, out=np.ones_like(mid), where=mid > 0)
        ratio_hi = np.divide(hi, mid, out=np.ones_like(mid), where=mid > 0)
        cols = {
            "p50": np.where(use_naive, naive, mid),
            "mean": np.where(use_naive, naive, pred["mean"]),
            "p10": np.where(use_naive, naive * ratio_lo, lo),
            "p90": np.where(use_naive, naive * ratio_hi, hi),
        }
        n_series = len(panel.ids)
        frame = pd.DataFrame(
            {
                "unique_id": np.tile(panel.ids.astype(str).to_numpy(), h),
                "ds": np.repeat(panel.future.to_numpy(), n_series),
                **{k: cols[k].reshape(-1) for k in ("p10", "p50", "p90", "mean")},
                "model": np.tile(
                    np.array([self.choice.get(str(i), "boosted") for i in panel.ids]), h
                ),
            }
        )
        return frame.sort_values(["unique_id", "ds"], ignore_index=True)
