// synfab page behaviour. No inline scripts anywhere (CSP script-src 'self'): pages declare what they
// need with data attributes and this file wires it up, also after htmx swaps new content in.
(function () {
  "use strict";

  // Send the session's CSRF token with every htmx request.
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) evt.detail.headers["X-CSRF-Token"] = meta.content;
  });

  // <div class="chart" data-chart='{"option": {...ECharts option...}}'></div>
  function drawCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      el.dataset.drawn = "1";
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(el.dataset.chart));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  // <select data-autosubmit> submits its form on change (filters).
  function wireAutosubmit(root) {
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      if (el.dataset.wired) return;
      el.dataset.wired = "1";
      el.addEventListener("change", function () { el.form && el.form.requestSubmit(); });
    });
  }

  // <button data-confirm="Are you sure?">
  document.addEventListener("click", function (evt) {
    var el = evt.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) evt.preventDefault();
  });

  // <form data-once>: disable the submit button after the first submission.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.matches && form.matches("form[data-once]")) {
      if (form.dataset.sent) { evt.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }
  });

  // <div id="live-toasts" data-live="/api/v1/live">: news for this person, as it happens (Server-Sent Events).
  function listenLive() {
    var box = document.getElementById("live-toasts");
    if (!box || !window.EventSource) return;
    var source = new EventSource(box.dataset.live);
    source.onmessage = null;
    ["work_order", "schedule", "purchasing", "terminal"].forEach(function (topic) {
      source.addEventListener(topic, function (evt) {
        var news = JSON.parse(evt.data);
        var toast = document.createElement(news.link ? "a" : "div");
        toast.className = "toast";
        toast.textContent = news.text;
        if (news.link) toast.href = news.link;
        box.prepend(toast);
        while (box.children.length > 4) box.lastChild.remove();
        setTimeout(function () { toast.remove(); }, 12000);
      });
    });
    // Topics that refresh part of a page instead of showing a toast: elements listen for "live-<topic>" on body.
    ["machine"].forEach(function (topic) {
      source.addEventListener(topic, function (evt) {
        document.body.dispatchEvent(new CustomEvent("live-" + topic, { detail: JSON.parse(evt.data) }));
      });
    });
  }

  function init(root) { drawCharts(root); wireAutosubmit(root); }
  document.addEventListener("DOMContentLoaded", function () { init(document); listenLive(); });
  document.addEventListener("htmx:load", function (evt) { init(evt.detail.elt); });
})();
