"""The operator terminal: a phone-sized page per work center — its dispatch list, and for each operation start,
pause, resume, report, complete and scan lots. It calls the orders services; it keeps no tables of its own."""
