/* The live walk page's service worker: the page opens again with no signal.
 *
 * Served as /walks/live-sw.js, so its scope is /walks/. It answers only three kinds of GET:
 *   - a walk's live page (/walks/<id>/live): the network first, and when the network fails (or
 *     is too slow to wait for), the copy of THAT walk's page kept at its last load;
 *   - the page's scripts and styles (/static/vendor/...): from the copy kept, refreshed behind;
 *   - base-map tiles already seen (/tiles/...): from the copy kept, the last MAX_TILES of them.
 * Everything else (other pages under /walks/, the JSON API, every POST and PUT) is left to the
 * browser untouched: a stale "My work" or route page would mislead, and a write must reach the
 * service or fail.
 *
 * What the page records is not here: live.js keeps its queue in localStorage and sends it.
 * The page tells the worker what to keep (a "keep" message listing its own URL and the assets
 * it loaded), because the first load happens before the worker controls the page.
 */
"use strict";

var VERSION = "walktalk-live-1";  // change to drop every copy kept by an older worker
var PAGES = VERSION + "-pages";
var ASSETS = VERSION + "-assets";
var TILES = VERSION + "-tiles";
var MAX_TILES = 300;
// A kept page holds the walk's planned route, which shows where a buddy lives or works: not
// kept longer than a day, however the walk ended.
var PAGE_LIFETIME_MS = 24 * 3600 * 1000;
// On one bar of signal a page can take a minute to arrive; past this the kept copy is shown.
var PAGE_WAIT_MS = 8000;
var LIVE_PAGE = /^\/walks\/[0-9a-fA-F-]{36}\/live$/;
var ASSET = /^\/static\/vendor\//;
var TILE = /^\/tiles\/\d+\/\d+\/\d+\.mvt$/;

self.addEventListener("install", function () {
  // No page depends on an older worker's behaviour: take over at once.
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("walktalk-live-") === 0 && name.indexOf(VERSION + "-") !== 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    // The page that registered the worker is controlled from now on, without a reload.
    return self.clients.claim();
  }));
});

function sameOrigin(url) { return url.origin === self.location.origin; }

function storable(response) {
  // Only the service's own full answer: not a redirect to sign in, a refusal or an error.
  return response && response.status === 200 && response.type === "basic";
}

function pageKey(url) {
  // One copy per walk, whatever the query: the key is the page's address without it.
  return new URL(new URL(url, self.location.origin).pathname, self.location.origin).href;
}

function fetchPage(event, url) {
  var stored = null;
  var network = fetch(event.request).then(function (response) {
    if (storable(response)) {
      var copy = response.clone();
      stored = caches.open(PAGES).then(function (cache) {
        return cache.put(pageKey(url), copy);
      });
    }
    return response;
  });
  // The worker may be stopped once the page has its answer: the copy must be stored first.
  event.waitUntil(network.then(function () { return stored; }, function () { return null; }));
  var kept = caches.open(PAGES).then(function (cache) { return cache.match(pageKey(url)); });
  return new Promise(function (resolve, reject) {
    var settled = false;
    function answer(response) { if (!settled) { settled = true; resolve(response); } }
    var timer = setTimeout(function () {
      kept.then(function (copy) { if (copy) { answer(copy); } });
    }, PAGE_WAIT_MS);
    network.then(function (response) { clearTimeout(timer); answer(response); },
      function (error) {
        clearTimeout(timer);
        kept.then(function (copy) {
          if (copy) { answer(copy); } else if (!settled) { settled = true; reject(error); }
        });
      });
  });
}

function fetchAsset(event) {
  var request = event.request;
  return caches.open(ASSETS).then(function (cache) {
    return cache.match(request).then(function (copy) {
      if (!copy) { return fetch(request); }  // kept only when the live page asks
      // The copy now; a fresher one for next time, fetched behind it.
      event.waitUntil(fetch(request).then(function (response) {
        return storable(response) ? cache.put(request, response) : null;
      }, function () { /* no signal: the copy kept is what there is */ }));
      return copy;
    });
  });
}

function trimTiles(cache) {
  return cache.keys().then(function (keys) {
    // keys() lists in the order stored: the tiles kept longest go first.
    return Promise.all(keys.slice(0, Math.max(keys.length - MAX_TILES, 0)).map(function (key) {
      return cache.delete(key);
    }));
  });
}

function keepTile(cache, request, response) {
  return cache.put(request, response).then(function () { return trimTiles(cache); });
}

function fetchTile(event) {
  var request = event.request;
  return caches.open(TILES).then(function (cache) {
    return cache.match(request).then(function (copy) {
      if (copy) { return copy; }
      return fetch(request).then(function (response) {
        if (storable(response)) { event.waitUntil(keepTile(cache, request, response.clone())); }
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }  // a write is never answered from a copy
  var url = new URL(request.url);
  if (!sameOrigin(url)) { return; }
  if (LIVE_PAGE.test(url.pathname) && request.mode === "navigate") {
    event.respondWith(fetchPage(event, url));
  } else if (ASSET.test(url.pathname)) {
    event.respondWith(fetchAsset(event));
  } else if (TILE.test(url.pathname)) {
    event.respondWith(fetchTile(event));
  }
});

// -- what the page asks for -------------------------------------------------------------------

function keepMissing(cacheName, urls) {
  // Fetch only what is not kept yet: offline, the copies kept are what the page needs.
  // Resolves to the URLs that could not be kept.
  return caches.open(cacheName).then(function (cache) {
    return Promise.all(urls.map(function (href) {
      return cache.match(href).then(function (copy) {
        if (copy) { return null; }
        return fetch(href, { credentials: "same-origin", redirect: "manual" })
          .then(function (response) {
            if (!storable(response)) { return href; }
            return cache.put(href, response).then(function () { return null; });
          }, function () { return href; });
      });
    }));
  }).then(function (missed) { return missed.filter(Boolean); });
}

function dropOldPages() {
  return caches.open(PAGES).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.map(function (key) {
        return cache.match(key).then(function (copy) {
          var at = Date.parse(copy && copy.headers.get("Date"));
          if (!at || Date.now() - at > PAGE_LIFETIME_MS) { return cache.delete(key); }
          return null;
        });
      }));
    });
  });
}

function paths(list, pattern) {
  return (Array.isArray(list) ? list : []).map(function (href) {
    try { return new URL(href, self.location.origin); } catch (e) { return null; }
  }).filter(function (url) {
    return url && sameOrigin(url) && pattern.test(url.pathname);
  }).map(function (url) { return url.href; });
}

function keep(message) {
  var page = paths([message.page], LIVE_PAGE).map(pageKey);
  if (!page.length) { return Promise.resolve({ kept: false }); }
  return dropOldPages().then(function () {
    return Promise.all([
      keepMissing(PAGES, page),
      keepMissing(ASSETS, paths(message.assets, ASSET)),
      // Tiles seen before the worker took over; not needed to call the page ready.
      caches.open(TILES).then(function (cache) {
        return Promise.all(paths(message.assets, TILE).map(function (href) {
          return cache.match(href).then(function (copy) {
            if (copy) { return null; }
            return fetch(href).then(function (response) {
              return storable(response) ? keepTile(cache, href, response) : null;
            }, function () { return null; });
          });
        }));
      })
    ]);
  }).then(function (done) {
    var missing = done[0].concat(done[1]);
    return { kept: missing.length === 0, missing: missing };
  });
}

function forget(message) {
  // The walk is over and all it recorded is with the service: the copy is not needed.
  var page = paths([message.page], LIVE_PAGE).map(pageKey);
  return caches.open(PAGES).then(function (cache) {
    return Promise.all(page.map(function (href) { return cache.delete(href); }));
  }).then(function () { return { forgotten: page.length === 1 }; });
}

self.addEventListener("message", function (event) {
  var message = event.data || {};
  var port = event.ports && event.ports[0];
  var work = message.type === "keep" ? keep(message)
    : message.type === "forget" ? forget(message)
    : Promise.resolve({ unknown: true });
  event.waitUntil(work.then(function (answer) {
    if (port) { port.postMessage(answer); }
  }, function () {
    if (port) { port.postMessage({ kept: false }); }
  }));
});
