"""Folium renderers: GeoDataFrames in, standalone HTML map pages out, with no CDN."""
