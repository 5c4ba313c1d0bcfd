"""Raw-material prices: history, volatility, forecasts with bands, alerts, buy-ahead calls."""
