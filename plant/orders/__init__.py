"""Web shop orders: cancellation risk per order, hold offers and the safekeeping plan."""
