"""``peakline demo``: a whole mooncake plant on one machine, with its sample data."""
