"""ISA-95 equipment hierarchy (enterprise → site → area → line → work center → equipment, storage) and shift calendars."""
