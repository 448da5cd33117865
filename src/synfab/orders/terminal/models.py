"""The terminal keeps no tables of its own (it works on work orders and stock through their services)."""

from __future__ import annotations
