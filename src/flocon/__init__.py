"""flocon: self-hosted social listening and e-reputation platform."""

__version__ = "0.1.0"
