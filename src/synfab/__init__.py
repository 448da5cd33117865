"""synfab — smart factory collaborative control (智慧工厂协同管控)."""

__version__ = "0.1.0"
