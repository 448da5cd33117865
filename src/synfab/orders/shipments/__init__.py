"""Shipments: finished lots picked against sales order lines, shipped, partial deliveries."""
