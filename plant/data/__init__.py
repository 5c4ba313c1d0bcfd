"""Small package data: the default extra-events calendar (``events.csv``)."""
