"""The dispatch schedule: finite-capacity forward scheduling of released operations on their work centers."""
