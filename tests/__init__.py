"""Tests on real PostGIS and headless Chromium."""
