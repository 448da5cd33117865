"""Spreadsheet import (.xlsx, .csv in UTF-8 or GBK) and Excel export of every kind of master and order data."""
