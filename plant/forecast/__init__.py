"""Demand forecasting: calendar features, holiday-aware models, hierarchy, backtest."""
