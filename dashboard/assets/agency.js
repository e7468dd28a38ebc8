/* The agency page (/agency): an agency without its own system works its tasks through the
   agency API with its token. The token is kept in sessionStorage only (gone when the tab
   closes). Everything from the server is shown with textContent: nothing becomes markup.
   Dash serves every file of assets/ on its pages too: this script does nothing elsewhere. */
(function () {
  "use strict";
  function start() {
    var app = document.getElementById("agency-app");
    if (!app) { return; }
    var S = JSON.parse(app.getAttribute("data-strings") || "{}");
    var KEY = "ioc-agency-token", WHO = "ioc-agency-person";
    var $ = function (id) { return document.getElementById(id); };
    var timer = null;

    function token() { return sessionStorage.getItem(KEY); }
    function say(text, isError) {
      var m = $("agency-message");
      m.textContent = text || "";
      m.className = "agency-message" + (isError ? " error" : (text ? " ok" : ""));
    }
    function api(method, path, body) {
      var opts = {method: method, headers: {"Authorization": "Bearer " + token(), "Accept": "application/json"},
                  credentials: "omit"};
      if (method === "POST") {
        opts.headers["Content-Type"] = "application/json";
        var payload = body || {};
        var who = sessionStorage.getItem(WHO);
        if (who) { payload.by = who; }
        opts.body = JSON.stringify(payload);
      }
      return fetch(path, opts).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return {status: r.status, data: data}; });
      });
    }
    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) { e.className = cls; }
      if (text !== undefined && text !== null) { e.textContent = String(text); }
      return e;
    }
    function when(iso) {
      if (!iso) { return "—"; }
      var d = new Date(iso);
      return d.toLocaleString(app.getAttribute("data-lang") === "en" ? "en-GB" : "zh-TW",
                              {timeZone: "Asia/Taipei", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
                               hourCycle: "h23"});
    }
    function act(task, step, note) {
      var body = note === undefined ? {} : {note: note};
      api("POST", "/api/v1/tasks/" + task.id + "/" + step, body).then(function (r) {
        if (r.status === 200) { say(S.done + " #" + task.id, false); }
        else if (r.status === 401) { forget(S.bad_token); return; }
        else { say(S.error + " " + (r.data.error || r.status), true); }
        load();
      });
    }
    function card(task) {
      var li = el("li", "agency-task state-" + task.status + (task.escalated && task.status === "created" ? " escalated" : ""));
      li.setAttribute("data-task-id", task.id);
      li.setAttribute("data-status", task.status);
      li.appendChild(el("h3", null, "#" + task.id + " P" + task.priority + " " + task.title));
      var state = S["state_" + task.status] + (task.escalated && task.status === "created" ? " · ▲ " + S.escalated : "");
      li.appendChild(el("p", "agency-task-state", state));
      li.appendChild(el("p", "agency-task-deadline", S.deadline + " " + when(task.ack_deadline)));
      if (task.detail) { li.appendChild(el("p", "agency-task-detail", task.detail)); }
      if (task.status === "created") {
        var ack = el("button", "agency-ack", S.ack);
        ack.type = "button";
        ack.addEventListener("click", function () { act(task, "ack"); });
        li.appendChild(ack);
      } else if (task.status !== "closed") {
        var note = el("textarea", "agency-note");
        note.maxLength = 2000;
        note.placeholder = S.note_prompt;
        var progress = el("button", "agency-progress", S.progress);
        var close = el("button", "agency-close", S.close);
        progress.type = close.type = "button";
        progress.addEventListener("click", function () {
          if (!note.value.trim()) { say(S.note_prompt, true); return; }
          act(task, "progress", note.value.trim());
        });
        close.addEventListener("click", function () {
          if (!note.value.trim()) { say(S.close_prompt, true); return; }
          act(task, "close", note.value.trim());
        });
        li.appendChild(note);
        li.appendChild(progress);
        li.appendChild(close);
      } else if (task.close_note) {
        li.appendChild(el("p", "agency-task-note", task.close_note));
      }
      return li;
    }
    function load() {
      if (!token()) { return; }
      api("GET", "/api/v1/status").then(function (r) {
        if (r.status === 401) { forget(S.bad_token); return; }
        if (r.status === 200) {
          $("agency-status").textContent = S.signed_in_as + " " + r.data.agency + " · " + S.level + " " +
            (S["level_" + r.data.level] || r.data.level) + (r.data.drill ? " · " + S.level_drill : "");
        }
      });
      var which = $("agency-show-closed").checked ? "all" : "open";
      api("GET", "/api/v1/tasks?status=" + which).then(function (r) {
        if (r.status === 401) { forget(S.bad_token); return; }
        if (r.status !== 200) { say(S.error + " " + r.status, true); return; }
        var list = $("agency-tasks");
        while (list.firstChild) { list.removeChild(list.firstChild); }
        if (!r.data.tasks.length) { list.appendChild(el("li", "agency-empty", S.no_tasks)); }
        r.data.tasks.forEach(function (task) { list.appendChild(card(task)); });
      });
    }
    function show(working) {
      $("agency-token-form").hidden = working;
      $("agency-work").hidden = !working;
      if (timer) { clearInterval(timer); timer = null; }
      if (working) { load(); timer = setInterval(load, 15000); }
    }
    function forget(message) {
      sessionStorage.removeItem(KEY);
      sessionStorage.removeItem(WHO);
      show(false);
      say(message || "", !!message);
    }
    $("agency-token-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(KEY, $("agency-token").value.trim());
      var who = $("agency-person").value.trim();
      if (who) { sessionStorage.setItem(WHO, who); } else { sessionStorage.removeItem(WHO); }
      $("agency-token").value = "";
      say("", false);
      show(true);
    });
    $("agency-refresh").addEventListener("click", load);
    $("agency-show-closed").addEventListener("change", load);
    $("agency-forget").addEventListener("click", function () { forget(""); });
    show(!!token());
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
