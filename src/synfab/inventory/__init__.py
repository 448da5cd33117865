"""Lots and sublots, the immutable stock ledger and the balances derived from it, reservations, genealogy."""
