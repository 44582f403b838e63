"""FakeLens: local checks for manipulated faces, AI-generated images and provenance."""

__version__ = "0.1.0"
