"""Units, material classes and definitions, BOMs with revisions, routings, and the data dictionary of external
codes."""
