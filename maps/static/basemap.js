/* The offline base map: the service's own vector tiles (/tiles/{z}/{x}/{y}.mvt) drawn with
 * Leaflet.VectorGrid, plus street names, which VectorGrid cannot draw.
 *
 * Two layers share each tile's download:
 *   - the streets, parks, water, lamps and ward/borough lines, in a pane under every overlay;
 *   - the street names, in a pane above the overlays (hexagons, choropleth), so a hot cell
 *     never hides the name of the street it lies on. Names never take clicks.
 *
 * window.walktalkBasemap.labels lists every name drawn ({name, z, x, y}) and .drawn is true once
 * the tiles in view are drawn: browser tests and the print view read them.
 */
(function () {
  "use strict";

  var BACKGROUND = "#f2efe9";
  var LABEL_MIN_ZOOM = 15;
  // A straight piece may bend this much (radians) and still carry a name.
  var MAX_BEND = 0.2;
  var TILE_CACHE = 256;

  // Importance of a street from its highway tag: wider and darker casing for busier roads.
  var RANK = {
    motorway: 5, trunk: 5, primary: 4, secondary: 3, tertiary: 2,
    motorway_link: 3, trunk_link: 3, primary_link: 3, secondary_link: 2, tertiary_link: 2,
    residential: 1, unclassified: 1, living_street: 1, road: 1,
    service: 0
  };
  var WIDTH = [2, 3.5, 4.5, 5.5, 6.5, 7.5]; // at zoom 16, by rank

  function rank(p) {
    return p.kind === "path" ? -1 : (RANK[p.highway] === undefined ? 1 : RANK[p.highway]);
  }

  // Lines keep their look across zooms: half as wide two zooms out, never a hairline.
  function width(p, z) {
    return Math.max(0.8, WIDTH[Math.max(rank(p), 0)] * Math.pow(2, (z - 16) / 2));
  }

  var STYLES = {
    water: { fill: true, fillColor: "#aad3df", fillOpacity: 1, stroke: false },
    parks: { fill: true, fillColor: "#cfe6bd", fillOpacity: 1, color: "#b3d39c", weight: 0.5 },
    casings: function (p, z) {
      if (p.kind === "path") { return []; }
      return { color: rank(p) >= 3 ? "#8c8479" : "#a9a197", weight: width(p, z) + 2,
               lineCap: "round", lineJoin: "round" };
    },
    streets: function (p, z) {
      if (p.kind === "path") {
        return { color: "#8a7f72", weight: z >= 17 ? 1.5 : 1, dashArray: "4 3", opacity: 0.9 };
      }
      return { color: rank(p) >= 4 ? "#fffdf3" : "#ffffff", weight: width(p, z),
               lineCap: "round", lineJoin: "round" };
    },
    // Lamps are specks at lower zooms; the tiles carry them from zoom 16.
    lamps: function (p, z) {
      return z < 17 ? [] : { radius: 1.8, fill: true, fillColor: "#c98a00", fillOpacity: 1,
                             stroke: false };
    },
    wards: { color: "#7d6aa6", weight: 1, dashArray: "6 4", opacity: 0.8 },
    boroughs: { color: "#5b2a86", weight: 2.5, opacity: 0.55 }
  };
  // Drawn in this order: streets over parks, casings under every street's white fill.
  var ORDER = ["water", "parks", "casings", "streets", "lamps", "wards", "boroughs"];

  var state = window.walktalkBasemap = window.walktalkBasemap || { labels: [], drawn: false };

  // One download per tile for both layers, kept for the last TILE_CACHE tiles.
  function TileStore() {
    this.cache = new Map();
  }
  TileStore.prototype.get = function (layer, coords) {
    var key = coords.z + "/" + coords.x + "/" + coords.y;
    var hit = this.cache.get(key);
    if (!hit) {
      hit = L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(layer, coords)
        .then(arrange, function () { return { layers: {} }; });
      this.cache.set(key, hit);
      if (this.cache.size > TILE_CACHE) { this.cache.delete(this.cache.keys().next().value); }
    }
    return hit;
  };

  // Puts the layers in drawing order, streets by rank (major roads over side streets), and a
  // "casings" copy of the streets first so no casing is drawn over another street's fill.
  function arrange(tile) {
    var layers = tile.layers || {};
    var streets = layers.streets;
    if (streets) {
      streets = { extent: streets.extent, features: streets.features.slice() };
      streets.features.sort(function (a, b) { return rank(a.properties) - rank(b.properties); });
    }
    var ordered = {};
    ORDER.forEach(function (name) {
      var layer = name === "casings" || name === "streets" ? streets : layers[name];
      if (layer) { ordered[name] = layer; }
    });
    return { layers: ordered };
  }

  var BaseGrid = L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise: function (coords) {
      return this.options.store.get(this, coords);
    }
  });

  // --- street names ------------------------------------------------------------------------

  // The longest run of a line's segments that bends less than MAX_BEND from its first one.
  function straightest(points) {
    var best = null;
    for (var i = 0; i + 1 < points.length; i++) {
      var a0 = Math.atan2(points[i + 1].y - points[i].y, points[i + 1].x - points[i].x);
      var j = i + 1;
      while (j + 1 < points.length) {
        var a = Math.atan2(points[j + 1].y - points[j].y, points[j + 1].x - points[j].x);
        var bend = Math.abs(Math.atan2(Math.sin(a - a0), Math.cos(a - a0)));
        if (bend > MAX_BEND) { break; }
        j++;
      }
      var length = Math.hypot(points[j].x - points[i].x, points[j].y - points[i].y);
      if (!best || length > best.length) { best = { from: points[i], to: points[j], length: length }; }
    }
    return best;
  }

  function overlaps(a, b) {
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  }

  // Where a name of `width` px can sit along `run` inside the tile: its middle first, then
  // slid along the run (a road crossing the tile's edge), or null if it fits nowhere.
  function placement(run, width, height, size) {
    var hw = width / 2 + 3, hh = height / 2 + 1;
    if (!run || run.length < 2 * hw) { return null; }
    var angle = Math.atan2(run.to.y - run.from.y, run.to.x - run.from.x);
    var ux = Math.cos(angle), uy = Math.sin(angle);
    // Text reads left to right, never upside down.
    if (angle > Math.PI / 2) { angle -= Math.PI; } else if (angle < -Math.PI / 2) { angle += Math.PI; }
    var spare = run.length / 2 - hw;
    var shifts = [0, 0.5, -0.5, 1, -1];
    for (var i = 0; i < shifts.length; i++) {
      var along = run.length / 2 + shifts[i] * spare;
      var cx = run.from.x + ux * along, cy = run.from.y + uy * along;
      var ex = Math.abs(hw * ux) + Math.abs(hh * uy), ey = Math.abs(hw * uy) + Math.abs(hh * ux);
      var box = { x0: cx - ex, x1: cx + ex, y0: cy - ey, y1: cy + ey };
      if (box.x0 >= 1 && box.y0 >= 1 && box.x1 <= size - 1 && box.y1 <= size - 1) {
        return { x: cx, y: cy, angle: angle, box: box };
      }
    }
    return null;
  }

  // OSM splits a street into many ways (at junctions, bridges, bus lanes): join the pieces of
  // one name that meet end to end, so the name can use the street's whole straight length.
  function joined(lines) {
    lines = lines.map(function (l) { return l.slice(); });
    var same = function (a, b) { return a.x === b.x && a.y === b.y; };
    for (var merged = true; merged;) {
      merged = false;
      for (var i = 0; i < lines.length && !merged; i++) {
        for (var j = 0; j < lines.length && !merged; j++) {
          if (i === j) { continue; }
          var a = lines[i], b = lines[j];
          if (same(a[a.length - 1], b[0])) {
            lines[i] = a.concat(b.slice(1));
          } else if (same(a[a.length - 1], b[b.length - 1])) {
            lines[i] = a.concat(b.slice().reverse().slice(1));
          } else {
            continue;
          }
          lines.splice(j, 1);
          merged = true;
        }
      }
    }
    return lines;
  }

  function drawNames(canvas, coords, tile) {
    var streets = tile.layers.streets;
    if (!streets || coords.z < LABEL_MIN_ZOOM) { return; }
    var size = canvas.width, scale = size / streets.extent;
    var fontSize = coords.z >= 17 ? 12 : 11;
    var ctx = canvas.getContext("2d");
    ctx.font = "600 " + fontSize + "px 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif";
    // One candidate per name: the longest straight piece of all its ways in the tile.
    var byName = {};
    streets.features.forEach(function (f) {
      var name = f.properties.name;
      if (!name) { return; }
      var entry = byName[name] = byName[name] || { name: name, lines: [], rank: -1 };
      entry.rank = Math.max(entry.rank, rank(f.properties));
      f.geometry.forEach(function (line) {
        entry.lines.push(line.map(function (p) { return { x: p.x * scale, y: p.y * scale }; }));
      });
    });
    Object.keys(byName).forEach(function (name) {
      var entry = byName[name];
      entry.run = null;
      joined(entry.lines).forEach(function (line) {
        var run = straightest(line);
        if (run && (!entry.run || run.length > entry.run.length)) { entry.run = run; }
      });
    });
    var candidates = Object.keys(byName).map(function (n) { return byName[n]; })
      .filter(function (c) { return c.run; });
    // Busier roads are named first; they win when two names would collide.
    candidates.sort(function (a, b) { return b.rank - a.rank || b.run.length - a.run.length; });
    var placed = [];
    candidates.forEach(function (c) {
      var at = placement(c.run, ctx.measureText(c.name).width, fontSize, size);
      if (!at || placed.some(function (p) { return overlaps(p, at.box); })) { return; }
      placed.push(at.box);
      ctx.save();
      ctx.translate(at.x, at.y);
      ctx.rotate(at.angle);
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.lineJoin = "round";
      ctx.lineWidth = 3.5;
      ctx.strokeStyle = "rgba(255, 255, 255, 0.95)"; // the halo
      ctx.strokeText(c.name, 0, 0);
      ctx.fillStyle = c.rank < 0 ? "#4a4238" : "#222222";
      ctx.fillText(c.name, 0, 0);
      ctx.restore();
      state.labels.push({ name: c.name, z: coords.z, x: coords.x, y: coords.y });
    });
  }

  var NameGrid = L.GridLayer.extend({
    createTile: function (coords, done) {
      var canvas = L.DomUtil.create("canvas", "walktalk-street-names");
      var size = this.getTileSize();
      canvas.width = size.x;
      canvas.height = size.y;
      var base = this.options.base;
      this.options.store.get(base, coords).then(function (tile) {
        drawNames(canvas, coords, tile);
        done(null, canvas);
      });
      return canvas;
    }
  });

  function pane(map, name, zIndex) {
    if (!map.getPane(name)) {
      map.createPane(name).style.zIndex = zIndex;
      map.getPane(name).style.pointerEvents = "none";
    }
    return name;
  }

  /**
   * Draw the base map on `map` from the vector tiles at `options.url`, credited with
   * `options.attribution`; returns the street layer.
   */
  window.walktalkBaseMap = function (map, options) {
    var store = new TileStore();
    map.getContainer().style.background = BACKGROUND;
    var common = { maxNativeZoom: 20, maxZoom: 22, store: store };
    // Overlays are multiplied onto the streets rather than laid over them: a hexagon or ward
    // tints the streets under it, which stay readable as lines, and its colour stays its own.
    map.getPane("overlayPane").style.mixBlendMode = "multiply";
    var base = new BaseGrid(options.url, L.extend({
      pane: pane(map, "basemap", 150),
      rendererFactory: L.canvas.tile,
      vectorTileLayerStyles: STYLES,
      attribution: options.attribution,
      interactive: false
    }, common));
    var names = new NameGrid(L.extend({ pane: pane(map, "basemap-names", 450), base: base }, common));
    // Drawn once both layers have every tile in view.
    var busy = [false, false];
    [base, names].forEach(function (layer, i) {
      layer.on("loading", function () { busy[i] = true; state.drawn = false; });
      layer.on("load", function () { busy[i] = false; state.drawn = !busy[0] && !busy[1]; });
    });
    base.addTo(map);
    names.addTo(map);
    state.layer = base;
    return base;
  };
})();
