"""Purchasing: suppliers, purchase orders, and receiving against them into lots."""
