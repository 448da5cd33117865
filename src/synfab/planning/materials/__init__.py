"""Materials: availability per work order, reservations against lots, shortages, MRP netting and purchase
suggestions."""
