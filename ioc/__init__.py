"""Taichung Intelligent Operations Center (智慧營運中心): the `ioc` command and shared core."""

__version__ = "0.1.0"
