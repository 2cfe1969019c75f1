"""ippledge — an IP pledge financing platform (知识产权质押融资)."""

__version__ = "0.1.0"
