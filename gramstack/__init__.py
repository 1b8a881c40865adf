"""gramstack: a photo-sharing backend built the way Instagram scaled Python."""

__version__ = "0.1.0"
