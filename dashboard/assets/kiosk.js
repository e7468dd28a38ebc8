/* Kiosk behaviour for wall screens, served by the app (the CSP forbids inline scripts).
 * - ?kiosk=1: full screen look (no cursor, no scrollbars, no controls) and a playlist that
 *   rotates pages per operational level; any interaction pauses the rotation for a while.
 * - On every page: a notice when the server stops answering, gone by itself when it answers;
 *   the alarm sound plays while unacknowledged alarms are shown. */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  // ?rotate=N sets every page's time to N seconds, ?pause=N the pause after an interaction.
  var ROTATE_S = parseInt(params.get("rotate") || "0", 10) || 0;
  var PAUSE_MS = (parseInt(params.get("pause") || "60", 10) || 60) * 1000;
  var STALE_MS = 9000;         // no heartbeat for this long: the connection is lost
  var kiosk = params.get("kiosk") === "1";
  var pausedUntil = 0;
  var shownSince = Date.now();
  var lastBeat = null;
  var lastBeatAt = Date.now();

  function el(id) { return document.getElementById(id); }

  if (kiosk) {
    document.documentElement.classList.add("kiosk");
    ["mousemove", "mousedown", "keydown", "touchstart", "wheel"].forEach(function (type) {
      window.addEventListener(type, function () { pausedUntil = Date.now() + PAUSE_MS; }, { passive: true });
    });
  }

  function currentLevel() {
    var config = el("kiosk-config");
    if (!config) { return "normal"; }
    var match = /level-(\w+)/.exec(config.className || "");
    return match ? match[1] : "normal";
  }

  function playlist() {
    var config = el("kiosk-config");
    if (!config) { return []; }
    try {
      var all = JSON.parse(config.getAttribute("data-playlist") || "{}");
      return all[currentLevel()] || all.normal || [];
    } catch (e) { return []; }
  }

  function rotate() {
    var list = playlist();
    var paused = Date.now() < pausedUntil;
    var marker = el("rotation-paused");
    if (marker) { marker.hidden = !(kiosk && paused && list.length > 1); }
    if (!kiosk || paused || list.length < 2) { return; }
    var here = window.location.pathname;
    var index = list.findIndex(function (p) { return p.path === here; });
    var seconds = index >= 0 ? (ROTATE_S || list[index].seconds) : 0;
    if (index >= 0 && Date.now() - shownSince < seconds * 1000) { return; }
    var next = list[(index + 1) % list.length];
    var query = new URLSearchParams(window.location.search);
    query.set("kiosk", "1");
    shownSince = Date.now();
    window.location.assign(next.path + "?" + query.toString());
  }

  function watchConnection() {
    var beat = el("chrome-heartbeat");
    var notice = el("connection-lost");
    if (!beat || !notice) { return; }
    var text = beat.textContent;
    if (text !== lastBeat) { lastBeat = text; lastBeatAt = Date.now(); }
    var lost = Date.now() - lastBeatAt > STALE_MS;
    notice.hidden = !lost;
    document.documentElement.classList.toggle("connection-lost-now", lost);
  }

  function soundAlarm() {
    var bar = el("alarm-bar");
    var audio = el("alarm-sound");
    if (!bar || !audio) { return; }
    var active = (bar.className || "").indexOf("active") >= 0;
    if (active && audio.paused) {
      var played = audio.play();
      if (played && played.catch) { played.catch(function () { /* autoplay blocked: the flash still shows */ }); }
    } else if (!active && !audio.paused) {
      audio.pause();
      audio.currentTime = 0;
    }
  }

  // A side panel with more tiles than fit pages through them, since nobody scrolls a wall.
  var PAGE_MS = 12000;
  var lastPageTurn = Date.now();
  function pageTiles() {
    var panel = document.querySelector(".wall-tiles");
    if (!panel) { return; }
    var overflowing = panel.scrollHeight > panel.clientHeight + 4;
    panel.classList.toggle("paging", overflowing);
    if (!overflowing) { panel.scrollTop = 0; return; }
    if (Date.now() - lastPageTurn < PAGE_MS || (!kiosk && Date.now() < pausedUntil)) { return; }
    lastPageTurn = Date.now();
    var next = panel.scrollTop + panel.clientHeight - 24;
    panel.scrollTo({ top: next >= panel.scrollHeight - 4 ? 0 : next, behavior: "smooth" });
  }
  if (!kiosk) {
    ["mousemove", "wheel", "keydown"].forEach(function (type) {
      window.addEventListener(type, function () { pausedUntil = Date.now() + PAUSE_MS; }, { passive: true });
    });
  }

  window.setInterval(function () { rotate(); watchConnection(); soundAlarm(); pageTiles(); }, 1000);
})();
