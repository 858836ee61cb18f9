"""Pure spatial logic on Shapely/GeoPandas: no database, no HTTP."""
