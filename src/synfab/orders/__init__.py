"""Customers, sales orders and their lines, work orders and their operations."""
