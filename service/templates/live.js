/* The live walk page: records the track and concerns on the phone, sends them when it can.
 *
 * Everything recorded is written to localStorage first (keyed by the walk), and only then sent,
 * so a lost signal, a reload or a flat battery between two sends loses nothing. An item is
 * marked sent only when the service has answered that it stored it; a refusal (4xx) is shown
 * and kept, never retried on its own, except a sign-in that ended, which is retried after the
 * officer signs in again. What the service has accepted is dropped from the phone's copy:
 * a buddy's route shows where she lives.
 *
 * Included into live.html by Jinja, so no Jinja markup (double braces, brace-percent) here.
 */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("live-config").textContent);

  var MAX_ACCURACY_M = 50;  // coarser fixes (wifi, cell towers) zigzag across streets
  var MIN_STEP_M = 5;       // GPS jitter while standing still is not walking
  var FRESH_FIX_MS = 60000; // when not recording, an older fix is not "here"
  var RETRY_MS = 15000;     // signal can come back without an "online" event
  var STORE_KEY = "walktalk.live.v1." + config.walkId;
  var LOCATION_NEEDS_HTTPS =
    "Location is only available over HTTPS or on localhost: browsers give a page the phone's " +
    "location only then.";

  var $ = function (id) { return document.getElementById(id); };
  var startButton = $("start"), pauseButton = $("pause"), finishButton = $("finish");
  var concernButton = $("concern-here"), panel = $("concern-panel"), note = $("concern-note");
  var chips = Array.prototype.slice.call(panel.querySelectorAll(".chip"));

  // -- the phone's copy ------------------------------------------------------------------------

  function emptyState() {
    // mode: idle → recording ⇄ paused → finished; points: [lon, lat]
    return { mode: "idle", points: [], concerns: [], route: null, startedAt: null,
             finishedAt: null };
  }

  var storageWorks = true;

  function load() {
    var stored = null;
    try {
      stored = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
    } catch (e) {
      storageWorks = false;
    }
    var s = stored && Array.isArray(stored.points) && Array.isArray(stored.concerns)
      ? stored : emptyState();
    s.concerns.forEach(function (c) {
      // A request cut short by a reload may or may not have arrived: sending it again risks a
      // duplicate, not sending it risks a loss; a duplicate is the smaller harm.
      if (c.status === "sending") { c.status = "pending"; }
      // A page loaded again after signing in again retries what the old sign-in lost.
      if (c.status === "refused" && c.signIn) { c.status = "pending"; c.error = null; }
    });
    if (s.route && (s.route.status === "sending" || (s.route.status === "refused" &&
                                                      s.route.signIn))) {
      s.route.status = "pending"; s.route.error = null;
    }
    return s;
  }

  function save() {
    var copy = {
      mode: state.mode,
      startedAt: state.startedAt,
      finishedAt: state.finishedAt,
      points: state.route && state.route.status === "sent" ? [] : state.points,
      route: state.route,
      stretch: state.stretch || null,
      concerns: state.concerns.map(function (c) {
        if (c.status !== "sent") { return c; }
        return { id: c.id, at: c.at, categories: c.categories, status: "sent",
                 serverId: c.serverId };
      })
    };
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(copy));
      storageWorks = true;
    } catch (e) {
      storageWorks = false;
    }
  }

  var state = load();
  var locatable = true;  // false where the browser will never give this page a location
  var lastFix = null;  // the latest fix good enough to use: {lon, lat, t}
  var fixesSeen = 0;

  // -- small helpers ---------------------------------------------------------------------------

  function metres(a, b) {
    // Haversine: plenty for steps of a few metres and a running total.
    var rad = Math.PI / 180, r = 6371008.8;
    var dLat = (b[1] - a[1]) * rad, dLon = (b[0] - a[0]) * rad;
    var h = Math.pow(Math.sin(dLat / 2), 2) +
            Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * r * Math.asin(Math.sqrt(h));
  }

  function trackLength(points) {
    var total = 0;
    for (var i = 1; i < points.length; i++) { total += metres(points[i - 1], points[i]); }
    return total;
  }

  function round6(x) { return Math.round(x * 1e6) / 1e6; }

  function distanceText(m) {
    return m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(2) + " km";
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function newId() {
    // A random (version 4) UUID: the service takes it as the concern's client_ref.
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
            hex.slice(20)].join("-");
  }

  function say(text) { $("status").textContent = text; }

  function locationNotice(text) {
    var el = $("location-notice");
    el.hidden = !text;
    el.textContent = text || "";
  }

  // -- the map ---------------------------------------------------------------------------------

  var map = L.map("map");
  var baseMap = null;  // the service's own tiles, which the worker keeps for offline use
  if (config.tiles && config.tiles.kind === "vector") {
    baseMap = walktalkBaseMap(map, config.tiles);  // the service's own streets, offline
  } else if (config.tiles) {
    L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19 })
      .addTo(map);
  }
  map.attributionControl.addAttribution(config.attribution);
  var wardLayer = L.geoJSON(config.ward, {
    style: { color: "#5b2a86", weight: 2, fillOpacity: 0.04 }, interactive: false
  });
  var planned = config.plannedRoute ? L.geoJSON(config.plannedRoute, {
    // The route planned (drawn or uploaded) under the track: grey and dashed, for guidance.
    style: { color: "#505a5f", weight: 4, dashArray: "6 8", opacity: 0.9 }, interactive: false
  }) : null;
  // The view first, set once: Leaflet cannot draw a line on a map that has none yet.
  if (state.points.length > 1) {
    map.fitBounds(L.latLngBounds(state.points.map(latLng)), { padding: [20, 20] });
  } else if (planned && planned.getLayers().length) {
    map.fitBounds(planned.getBounds(), { padding: [20, 20] });
  } else if (wardLayer.getLayers().length) {
    map.fitBounds(wardLayer.getBounds());
  } else {
    map.setView([51.47, -0.1], 13);
  }
  wardLayer.addTo(map);
  if (planned) { planned.addTo(map); }
  var trackLine = L.polyline([], { color: "#5b2a86", weight: 5 }).addTo(map);
  var concernLayer = L.layerGroup().addTo(map);
  var hereMarker = null, followed = false;

  function latLng(p) { return L.latLng(p[1], p[0]); }

  function drawMap() {
    trackLine.setLatLngs(state.points.map(latLng));
    concernLayer.clearLayers();
    state.concerns.forEach(function (c) {
      if (c.line) {
        L.polyline(c.line.coordinates.map(latLng), { color: "#a00000", weight: 7, opacity: 0.8 })
          .bindTooltip("Stretch " + clock(c.at)).addTo(concernLayer);
        return;
      }
      if (c.lon === null || c.lon === undefined) { return; }
      L.circleMarker([c.lat, c.lon], { radius: 8, color: "#a00000", weight: 3,
                                       fillOpacity: 0.6 })
        .bindTooltip("Concern " + clock(c.at)).addTo(concernLayer);
    });
    if (lastFix) {
      var ll = L.latLng(lastFix.lat, lastFix.lon);
      if (hereMarker) { hereMarker.setLatLng(ll); } else {
        hereMarker = L.circleMarker(ll, { radius: 7, color: "#fff", weight: 3,
                                          fillColor: "#1f5fbf", fillOpacity: 1 }).addTo(map);
      }
      hereMarker.bringToFront();  // "you are here" stays visible over a concern just noted
      if (state.mode === "recording" && !followed) {
        // Close enough to see which side of the street: the ward is too far out for that.
        followed = true;
        map.setView(ll, Math.max(map.getZoom(), 17));
      } else if (state.mode === "recording" && !map.getBounds().pad(-0.2).contains(ll)) {
        map.panTo(ll);
      }
    }
  }

  // -- location --------------------------------------------------------------------------------

  var watchId = null;

  function canLocate() {
    if (!window.isSecureContext || !("geolocation" in navigator)) {
      locatable = false;
      locationNotice(LOCATION_NEEDS_HTTPS + " This page was opened at " + location.origin +
                     ": open the service's https:// address instead.");
      return false;
    }
    return true;
  }

  // Phones lose the fix for a moment all the time (and Chromium's emulation does on every
  // move): only a gap that lasts is worth telling the officer about.
  var LOST_FIX_MS = 10000;
  var lostFixTimer = null, lostFixShown = false;

  function onFix(position) {
    fixesSeen += 1;
    $("track-summary").setAttribute("data-fixes", String(fixesSeen));
    locationNotice(null);
    window.clearTimeout(lostFixTimer);
    lostFixTimer = null;
    if (lostFixShown) {
      lostFixShown = false;
      say(state.mode === "recording" ? "Location found again: recording." : "Location found.");
    }
    var c = position.coords;
    if (c.accuracy > MAX_ACCURACY_M) {
      say("Location only known to ±" + Math.round(c.accuracy) + " m: left out of the track " +
          "until it is better.");
      return;
    }
    var here = [round6(c.longitude), round6(c.latitude)];
    lastFix = { lon: here[0], lat: here[1], t: Date.now() };
    var placed = false;
    state.concerns.forEach(function (concern) {
      if (concern.lon === null) { concern.lon = here[0]; concern.lat = here[1]; placed = true; }
    });
    if (placed && draft) { $("concern-when").textContent = "At " + clock(draft.at) + "."; }
    if (state.mode === "recording") {
      var last = state.points[state.points.length - 1];
      if (!last || metres(last, here) >= MIN_STEP_M) { state.points.push(here); placed = true; }
    }
    if (placed) { save(); sendPending(); }
    render();
  }

  function onFixError(error) {
    if (error.code === 1) {  // PERMISSION_DENIED
      stopWatching();
      if (state.mode === "recording") { state.mode = state.points.length ? "paused" : "idle"; }
      save();
      locationNotice("This browser did not allow the page to use the phone's location. " +
                     LOCATION_NEEDS_HTTPS + " Allow location for this site in the browser's " +
                     "settings, then press Start.");
      say("Not recording: no location.");
      render();
    } else if (error.code === 2 && lostFixTimer === null) {  // POSITION_UNAVAILABLE
      lostFixTimer = window.setTimeout(function () {
        lostFixShown = true;
        say("No location fix at the moment; recording goes on when the phone finds one.");
      }, LOST_FIX_MS);
    }
    // TIMEOUT: the watch keeps trying, and the next fix says so.
  }

  function startWatching() {
    if (watchId !== null || !canLocate()) { return watchId !== null; }
    watchId = navigator.geolocation.watchPosition(onFix, onFixError,
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    keepScreenOn(true);
    return true;
  }

  function stopWatching() {
    if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
    keepScreenOn(false);
  }

  // Many phones stop giving a page its location once the screen locks.
  var wakeLock = null;
  function keepScreenOn(on) {
    if (!on) {
      if (wakeLock) { wakeLock.release().catch(function () {}); wakeLock = null; }
      return;
    }
    if (!navigator.wakeLock || wakeLock) { return; }
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      lock.addEventListener("release", function () { wakeLock = null; });
    }).catch(function () { /* not offered here (battery saver, old browser): fine */ });
  }

  // -- Start, Pause, Finish --------------------------------------------------------------------

  startButton.addEventListener("click", function () {
    if (!startWatching()) { return; }
    var resuming = state.mode === "paused";
    state.mode = "recording";
    state.route = null;  // a refused route is replaced by the one finished next
    state.startedAt = state.startedAt || new Date().toISOString();
    save();
    say(resuming ? "Recording again." : "Recording the track. Keep this page open.");
    render();
  });

  pauseButton.addEventListener("click", function () {
    stopWatching();
    state.mode = "paused";
    save();
    say("Paused: nothing is recorded until you press Resume.");
    render();
  });

  finishButton.addEventListener("click", function () {
    stopWatching();
    saveDraft();
    state.mode = "finished";
    state.finishedAt = new Date().toISOString();
    state.route = { status: "pending", points: state.points.length,
                    length: trackLength(state.points) };
    save();
    if (state.points.length > 1) {  // the whole walk at a glance
      map.fitBounds(L.latLngBounds(state.points.map(latLng)), { padding: [20, 20] });
    }
    say("Finished: " + distanceText(state.route.length) + " recorded. " +
        (navigator.onLine ? "Sending the route…" : "The route is sent when there is signal."));
    render();
    sendPending();
  });

  // -- concerns --------------------------------------------------------------------------------

  var draft = null;

  function openDraft(concern) {
    draft = concern;
    chips.forEach(function (chip) {
      chip.setAttribute("aria-pressed",
                        String(concern.categories.indexOf(chip.dataset.slug) >= 0));
    });
    note.value = concern.note || "";
    $("concern-when").textContent = "At " + clock(concern.at) + (concern.lon === null
      ? ", waiting for the phone's location." : ", where you are now.");
    panel.hidden = false;
    $("concern-heading").focus();
  }

  function saveDraft() {
    if (!draft) { return null; }
    var concern = draft;
    draft = null;
    panel.hidden = true;
    if (!concern.categories.length) { concern.categories = ["other"]; }
    concern.note = note.value.trim();
    concern.status = "pending";
    save();
    return concern;
  }

  concernButton.addEventListener("click", function () {
    var open = saveDraft();  // pressed again: the one open is kept as it is
    if (open) { sendPending(); }
    var fresh = lastFix && (watchId !== null || Date.now() - lastFix.t < FRESH_FIX_MS);
    var concern = { id: newId(), at: new Date().toISOString(),
                    lon: fresh ? lastFix.lon : null, lat: fresh ? lastFix.lat : null,
                    categories: [], note: "", status: "draft" };
    state.concerns.push(concern);
    save();
    if (!fresh && canLocate()) {
      navigator.geolocation.getCurrentPosition(onFix, onFixError,
        { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
    }
    if (navigator.vibrate) { navigator.vibrate(60); }
    say("Concern recorded at " + clock(concern.at) + ". Add what it was, or carry on.");
    openDraft(concern);
    render();
  });

  // A concern along a stretch (an unlit path, an underpass): its start, then its end; the
  // line is the track recorded between them. Kept in state so a reload mid-stretch keeps it.
  var stretchButton = $("stretch");
  function stretchLabel() {
    stretchButton.textContent = state.stretch ? "Stretch ends here"
                                              : "Stretch begins here";
    stretchButton.setAttribute("aria-pressed", String(Boolean(state.stretch)));
  }
  stretchButton.addEventListener("click", function () {
    var fresh = lastFix && (watchId !== null || Date.now() - lastFix.t < FRESH_FIX_MS);
    if (!fresh) {
      say("Waiting for the phone's location: press again when it is found.");
      if (canLocate()) {
        navigator.geolocation.getCurrentPosition(onFix, onFixError,
          { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
      }
      return;
    }
    if (!state.stretch) {
      state.stretch = { at: new Date().toISOString(), from: state.points.length,
                        start: [lastFix.lon, lastFix.lat] };
      save(); stretchLabel();
      say("Stretch started at " + clock(state.stretch.at) + ". Walk on, then press End.");
      return;
    }
    var coords = [state.stretch.start].concat(state.points.slice(state.stretch.from),
                                              [[lastFix.lon, lastFix.lat]]);
    coords = coords.filter(function (p, i) {
      return i === 0 || p[0] !== coords[i - 1][0] || p[1] !== coords[i - 1][1];
    });
    if (coords.length < 2) {
      say("The stretch has no length yet: walk on a little, then press End.");
      return;
    }
    var concern = { id: newId(), at: state.stretch.at, lon: coords[0][0], lat: coords[0][1],
                    line: { type: "LineString", coordinates: coords },
                    categories: [], note: "", status: "draft" };
    state.stretch = null;
    state.concerns.push(concern);
    save(); stretchLabel();
    say("Stretch recorded. Add what it was, or carry on.");
    openDraft(concern);
    render();
  });

  chips.forEach(function (chip) {
    chip.addEventListener("click", function () {
      if (!draft) { return; }
      var slug = chip.dataset.slug, at = draft.categories.indexOf(slug);
      if (at >= 0) { draft.categories.splice(at, 1); } else { draft.categories.push(slug); }
      chip.setAttribute("aria-pressed", String(at < 0));
      save();
    });
  });

  note.addEventListener("input", function () {
    if (draft) { draft.note = note.value; save(); }
  });

  $("save-concern").addEventListener("click", function () {
    var concern = saveDraft();
    say("Concern saved" + (navigator.onLine ? "." : ": not sent yet, kept on this phone."));
    concernButton.focus();
    render();
    if (concern) { sendPending(); }
  });

  $("discard-concern").addEventListener("click", function () {
    if (!draft) { return; }
    state.concerns.splice(state.concerns.indexOf(draft), 1);
    draft = null;
    panel.hidden = true;
    save();
    say("Concern deleted.");
    concernButton.focus();
    render();
  });

  // -- sending ---------------------------------------------------------------------------------

  var busy = false;  // one request at a time, so nothing is ever in flight twice

  function send(method, url, body) {
    var headers = { "Content-Type": "application/json" };
    if (config.csrfToken) { headers["X-CSRF-Token"] = config.csrfToken; }
    // redirect "manual": a wifi sign-in portal answers with a redirect to its own page, and
    // following it would bring back a 200 that looks like the service's.
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        redirect: "manual", body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          return { status: response.status, body: answer };
        });
      }, function () { return { status: 0, body: {} }; });
  }

  function outcome(result, expected, field) {
    // Only the service's own answer counts as stored: its status and the field it returns.
    if (expected.indexOf(result.status) >= 0 && result.body && result.body[field] !== undefined) {
      return "accepted";
    }
    // No connection, a portal or proxy in the way, the server busy or failing: try later.
    if (result.status < 400 || result.status >= 500 || result.status === 408 ||
        result.status === 429) { return "later"; }
    return "refused";
  }

  function refusal(item, result) {
    var detail = result.body && result.body.detail;
    item.status = "refused";
    item.signIn = result.status === 401 || result.status === 403;
    item.error = item.signIn
      ? "your sign-in has ended. Sign in again (link below); everything stays on this phone " +
        "and is sent then."
      : (typeof detail === "string" ? detail : "refused (HTTP " + result.status + ")");
  }

  function sendPending() {
    // After a sign-in has ended every send would be refused the same way: wait for a new one.
    if (busy || !navigator.onLine || signInNeeded()) { render(); return; }
    var concern = state.concerns.filter(function (c) {
      return c.status === "pending" && c.lon !== null;
    })[0];
    if (concern) {
      busy = true;
      concern.status = "sending";
      save(); render();
      var body = { categories: concern.categories, note: concern.note || null,
                   at: concern.at, client_ref: concern.id };
      if (concern.line) { body.line = concern.line; } else {
        body.lon = concern.lon; body.lat = concern.lat;
      }
      send("POST", config.concernsUrl, body).then(function (result) {
        busy = false;
        // 200: the service had it already (its answer to an earlier send was lost).
        var verdict = outcome(result, [200, 201], "id");
        if (verdict === "accepted") {
          concern.status = "sent"; concern.serverId = result.body.id;
          say("Concern from " + clock(concern.at) + " sent.");
        } else if (verdict === "later") {
          concern.status = "pending";
        } else {
          refusal(concern, result);
          say("A concern was not accepted: " + concern.error);
        }
        save(); render();
        if (verdict === "accepted") { sendPending(); }
      });
      return;
    }
    var route = state.route;
    if (route && route.status === "pending" && state.mode === "finished") {
      busy = true;
      route.status = "sending";
      save(); render();
      send("PUT", config.routeUrl, {
        type: "LineString", coordinates: state.points.map(function (p) { return [p[0], p[1]]; })
      }).then(function (result) {
        busy = false;
        var verdict = outcome(result, [200], "length_m");
        if (verdict === "accepted") {
          route.status = "sent";
          route.length = result.body.length_m;
          route.wards = result.body.route_ward_names;
          say("Route saved: " + distanceText(route.length) + " through " +
              route.wards.join(", ") + ".");
          if (allSent()) { forgetOffline(); }
        } else if (verdict === "later") {
          route.status = "pending";
        } else {
          refusal(route, result);
          // Back to paused, so the officer can walk on and finish again with nothing lost.
          if (!route.signIn) { state.mode = "paused"; }
          say("Route not saved: " + route.error);
        }
        save(); render();
      });
    }
  }

  function retry(item) {
    // A sign-in refused one item, and held back the rest: try them all again.
    var items = item.signIn ? state.concerns.concat(state.route ? [state.route] : []) : [item];
    items.forEach(function (one) {
      if (one === item || (one.status === "refused" && one.signIn)) {
        one.status = "pending"; one.error = null; one.signIn = false;
      }
    });
    save(); sendPending();
  }

  function forget(concern) {
    state.concerns.splice(state.concerns.indexOf(concern), 1);
    save(); render();
  }

  window.addEventListener("online", function () { say("Back online: sending."); sendPending(); });
  window.addEventListener("offline", function () {
    say("No signal: recording goes on, and everything is kept on this phone.");
    render();
  });
  window.setInterval(sendPending, RETRY_MS);

  function signInNeeded() {
    var items = state.concerns.concat(state.route ? [state.route] : []);
    return items.some(function (item) { return item.status === "refused" && item.signIn; });
  }

  function allSent() {
    return state.concerns.every(function (c) { return c.status === "sent"; }) &&
           (!state.route || state.route.status === "sent");
  }

  // -- without signal: the service worker keeps this page ---------------------------------------

  var registration = null;  // the worker's registration, once it has an active worker

  function ask(message) {
    // The worker answers on a port of its own, so two questions never get each other's answer.
    return new Promise(function (resolve) {
      var channel = new MessageChannel();
      channel.port1.onmessage = function (event) { resolve(event.data || {}); };
      // The active worker at the time of asking: a newer version may have replaced the first.
      registration.active.postMessage(message, [channel.port2]);
    });
  }

  function offlineLine(text) {
    var line = $("offline-ready");
    line.hidden = !text;
    line.textContent = text || "";
  }

  function offlineReady(ready) {
    document.documentElement.setAttribute("data-offline-ready", ready ? "yes" : "no");
  }

  function keepForOffline() {
    if (!("serviceWorker" in navigator)) {
      // Browsers run service workers only on HTTPS or localhost (or not at all).
      offlineReady(false);
      offlineLine("This browser cannot keep the page for use without signal: do not reload " +
                  "it where there is no signal.");
      return;
    }
    navigator.serviceWorker.register(config.serviceWorkerUrl, { scope: config.serviceWorkerScope })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (ready) {
        registration = ready;
        return keepNow(0);
      })
      .catch(function () {
        offlineReady(false);
        offlineLine("This page could not be kept for use without signal: do not reload it " +
                    "where there is no signal.");
      });
  }

  var KEEP_AGAIN_MS = 5000;
  var TILES_WAIT_MS = 10000;

  function tilesDrawn() {
    // A tile asked for before the worker took over is listed only once it has arrived.
    // A tile that never arrives (no signal) must not hold the rest back for long.
    return new Promise(function (resolve) {
      if (baseMap && baseMap.isLoading()) {
        baseMap.once("load", resolve);
        window.setTimeout(resolve, TILES_WAIT_MS);
      } else {
        resolve();
      }
    });
  }

  function keepNow(times) {
    if (state.mode === "finished" && allSent()) { return forgetOffline(); }
    return tilesDrawn().then(function () {
      // What this load fetched: the page's scripts and styles, and the map tiles drawn.
      var assets = performance.getEntriesByType("resource").map(function (entry) {
        return entry.name;
      });
      return ask({ type: "keep", page: location.pathname, assets: assets });
    }).then(function (a) {
      offlineReady(a.kept);
      // What could not be kept, for whoever looks into a phone that is not ready.
      $("offline-ready").setAttribute("data-missing", (a.missing || []).join(" "));
      offlineLine(a.kept ? "Ready to work without signal: if the signal goes, this page " +
                           "still opens here and keeps what you record."
                         : "This page could not yet be kept for use without signal: " +
                           "do not reload it where there is no signal.");
      // Once more a little later for tiles still loading when the worker took over (it keeps
      // those asked for after); and until everything is kept, again at each retry.
      if (!a.kept || times === 0) {
        window.setTimeout(function () { keepNow(times + 1); }, a.kept ? KEEP_AGAIN_MS : RETRY_MS);
      }
    });
  }

  function forgetOffline() {
    // Finished and all sent: the kept copy (with the planned route) has no more use.
    offlineLine(null);
    if (!registration || !registration.active) { return Promise.resolve(); }
    return ask({ type: "forget", page: location.pathname }).then(function () {
      offlineReady(false);
    });
  }

  // -- what the page shows ---------------------------------------------------------------------

  function stateText(item) {
    if (item.status === "sent") { return ["sent", "state-sent"]; }
    if (item.status === "sending") { return ["sending…", "state-unsent"]; }
    if (item.status === "refused") { return ["not accepted", "state-refused"]; }
    if (item.lon === null) { return ["waiting for location, not sent yet", "state-unsent"]; }
    return ["not sent yet", "state-unsent"];
  }

  function button(text, onClick) {
    var made = document.createElement("button");
    made.type = "button";
    made.className = "secondary";
    made.textContent = text;
    made.addEventListener("click", onClick);
    return made;
  }

  function listItem(text, item) {
    var li = document.createElement("li");
    var shown = stateText(item);
    li.className = "item-" + item.status;
    li.appendChild(document.createTextNode(text + " — "));
    var mark = document.createElement("span");
    mark.className = "state " + shown[1];
    mark.textContent = shown[0];
    li.appendChild(mark);
    if (item.status === "refused") {  // the reason wraps; the state above does not
      li.appendChild(document.createTextNode(": " + item.error));
    }
    if (item.signIn && item.status === "refused") {
      li.appendChild(document.createElement("br"));
      var link = document.createElement("a");
      link.href = config.loginUrl;
      link.textContent = "Sign in again";
      link.className = "action";
      li.appendChild(link);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(button("Try again", function () { retry(item); }));
    } else if (item.status === "refused" && item !== state.route) {
      // Sending the same concern again would be refused again: it can only be removed.
      // (A refused route is kept: Resume, walk on and Finish again.)
      li.appendChild(document.createElement("br"));
      li.appendChild(button("Remove from this phone", function () { forget(item); }));
    }
    return li;
  }

  function render() {
    var mode = state.mode;
    startButton.textContent = mode === "paused" ? "Resume" : "Start";
    startButton.disabled = !locatable || mode === "recording" || mode === "finished";
    pauseButton.disabled = mode !== "recording";
    finishButton.disabled = mode === "finished" || mode === "idle" ||
                            state.points.length < 2;

    var length = trackLength(state.points);
    var summary = $("track-summary");
    if (state.route && state.route.status === "sent") {
      summary.textContent = "Route saved: " + distanceText(state.route.length) + ".";
    } else if (!state.points.length) {
      summary.textContent = mode === "recording" ? "Recording: waiting for the first location " +
        "fix." : "No track recorded yet.";
    } else {
      summary.textContent = "Track: " + state.points.length +
        (state.points.length === 1 ? " point, " : " points, ") +
        distanceText(length) + (length < config.minLengthM
          ? " (a walk's route needs at least " + config.minLengthM + " m)." : ".");
    }

    var list = $("recorded");
    list.textContent = "";
    var unsent = 0;
    state.concerns.forEach(function (c) {
      if (c.status === "draft") { return; }
      if (c.status !== "sent") { unsent += 1; }
      var labels = c.categories.map(function (s) { return config.categories[s] || s; });
      list.appendChild(listItem("Concern at " + clock(c.at) + ": " + labels.join(", ") +
                                (c.note ? " (with a note)" : ""), c));
    });
    if (state.route) {
      if (state.route.status !== "sent") { unsent += 1; }
      // The times are the walk's actual start and end, which closing the walk asks for.
      var times = state.startedAt && state.finishedAt
        ? ", " + clock(state.startedAt) + " to " + clock(state.finishedAt) : "";
      list.appendChild(listItem("Route, " + distanceText(state.route.length) + times,
                                state.route));
    }
    $("nothing-recorded").hidden = list.children.length > 0;

    var connection = $("connection");
    connection.setAttribute("data-waiting", String(unsent));
    if (storageWorks && unsent && signInNeeded()) {
      // Sending again needs a new sign-in; offline, the link waits for signal like the rest.
      connection.textContent = "Your sign-in has ended. Everything stays on this phone " +
        "until it is sent.";
      var again = document.createElement("a");
      again.href = config.loginUrl;
      again.className = "action";
      again.textContent = "Sign in again to send " + unsent +
        (unsent === 1 ? " waiting item" : " waiting items");
      connection.appendChild(document.createElement("br"));
      connection.appendChild(again);
    } else if (!storageWorks) {
      connection.textContent = "This phone could not keep a copy (storage full or blocked): " +
        "do not reload this page until everything is sent.";
    } else if (unsent) {
      connection.textContent = (navigator.onLine ? "Online" : "Offline") + ": " + unsent +
        (unsent === 1 ? " item" : " items") + " not sent yet, kept on this phone.";
    } else {
      connection.textContent = navigator.onLine ? "Online: everything recorded has been sent."
                                                : "Offline: nothing waiting to be sent.";
    }
    drawMap();
  }

  // -- on load ---------------------------------------------------------------------------------

  canLocate();
  concernButton.disabled = false;
  stretchButton.disabled = false;
  stretchLabel();
  var openOne = state.concerns.filter(function (c) { return c.status === "draft"; })[0];
  render();
  if (openOne) { openDraft(openOne); }
  if (state.mode === "recording") {
    // A reload in the middle of the walk carries on recording.
    if (startWatching()) { say("Recording the track (carried on after the page reloaded)."); }
  } else if (state.mode === "paused") {
    say("Paused: press Resume to carry on recording.");
  } else if (state.mode === "finished") {
    say(state.route && state.route.status === "sent" ? "This walk is finished and its route " +
        "saved." : "Finished: the route is sent when there is signal.");
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      if (watchId !== null) { keepScreenOn(true); }
      sendPending();
    }
  });
  sendPending();
  keepForOffline();
})();
