"""The web workbench: static pages (HTML/CSS/JS shipped in ``static/``) and the small APIs they need."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = ["STATIC_DIR"]
