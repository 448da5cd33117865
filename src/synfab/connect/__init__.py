"""Connections to the outside: files and spreadsheets now; machines and business systems in later issues."""
