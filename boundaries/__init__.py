"""Ward and borough boundaries: bundled London data, reading and normalising files."""
