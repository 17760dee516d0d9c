"""Models of the qrexpress app."""
