"""scos-gr: core pieces shared by every room (configuration, store, entry point)."""
__version__ = "0.1.0"
