"""The digital twin: a plan simulated over its season (SimPy), scenarios and plan optimisation."""
