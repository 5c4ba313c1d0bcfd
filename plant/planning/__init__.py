"""Production, inventory and packaging plans from the demand forecast, with exceptions."""
