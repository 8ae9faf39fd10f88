/* flocon's page behaviour: the CSRF header for htmx, charts (Chart.js) with PNG and CSV
   downloads and drill-down, confirmations, select-all, and the browser's time zone.
   No inline script anywhere: the Content Security Policy forbids it. */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  // The browser's time zone, once, so dates are shown in local time.
  if (document.cookie.indexOf("flocon_tz=") === -1 && window.Intl) {
    try {
      var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz) {
        document.cookie = "flocon_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
      }
    } catch (e) { /* keep UTC */ }
  }

  var charts = {};

  function csvCell(value) {
    if (typeof value === "number") { return isFinite(value) ? String(value) : ""; }  // a number is never a formula
    var text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) { text = "'" + text; }  // no formula injection in spreadsheets
    if (/[",\n\r]/.test(text)) { text = '"' + text.replace(/"/g, '""') + '"'; }
    return text;
  }

  function download(name, href) {
    var a = document.createElement("a");
    a.href = href;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function chartData(id) {
    var island = document.getElementById(id + "-data");
    return island ? JSON.parse(island.textContent) : null;
  }

  function toCsv(spec) {
    var header = [spec.label_name || "label"].concat(spec.datasets.map(function (d) { return d.label; }));
    var lines = [header.map(csvCell).join(",")];
    spec.labels.forEach(function (label, i) {
      var row = [label].concat(spec.datasets.map(function (d) { return d.data[i]; }));
      lines.push(row.map(csvCell).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  function render(canvas) {
    var id = canvas.getAttribute("data-chart");
    var spec = chartData(id);
    if (!spec || !window.Chart) { return; }
    var type = spec.type || "line";
    var stacked = !!spec.stacked;
    var datasets = spec.datasets.map(function (d) {
      var ds = { label: d.label, data: d.data, borderWidth: type === "doughnut" ? 1 : 2 };
      if (d.color) {
        ds.borderColor = d.color;
        ds.backgroundColor = type === "line" && !stacked ? d.color : d.color;
      }
      if (d.colors) { ds.backgroundColor = d.colors; }
      if (type === "line") { ds.fill = stacked; ds.pointRadius = 1.5; ds.tension = 0.2; }
      if (d.spanGaps) { ds.spanGaps = true; }
      return ds;
    });
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: type === "doughnut" ? "nearest" : "index", intersect: type === "doughnut" },
      plugins: { legend: { position: "bottom" } },
      onClick: function (event, elements) {
        if (!elements.length || !spec.links) { return; }
        var el = elements[0];
        var link = Array.isArray(spec.links[el.datasetIndex]) ? spec.links[el.datasetIndex][el.index] : spec.links[el.index];
        if (link) { window.location.href = link; }
      },
      onHover: function (event, elements) {
        event.native.target.style.cursor = elements.length && spec.links ? "pointer" : "default";
      }
    };
    if (type !== "doughnut") {
      options.scales = { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } };
      if (spec.y_min !== undefined) { options.scales.y.min = spec.y_min; options.scales.y.max = spec.y_max; options.scales.y.beginAtZero = false; }
    }
    charts[id] = new window.Chart(canvas, { type: type, data: { labels: spec.labels, datasets: datasets }, options: options });
    canvas.setAttribute("data-rendered", "true");
  }

  document.addEventListener("click", function (event) {
    var png = event.target.closest("[data-chart-png]");
    if (png) {
      var pid = png.getAttribute("data-chart-png");
      var canvas = document.querySelector('canvas[data-chart="' + pid + '"]');
      if (canvas) { download(pid + ".png", canvas.toDataURL("image/png")); }
      return;
    }
    var csvButton = event.target.closest("[data-chart-csv]");
    if (csvButton) {
      var cid = csvButton.getAttribute("data-chart-csv");
      var spec = chartData(cid);
      if (spec) {
        var blob = new Blob(["\ufeff" + toCsv(spec)], { type: "text/csv;charset=utf-8" });
        var url = URL.createObjectURL(blob);
        download((spec.csv_name || cid) + ".csv", url);
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      }
      return;
    }
    var all = event.target.closest("[data-select-all]");
    if (all) {
      var scope = document.getElementById(all.getAttribute("data-select-all")) || document;
      scope.querySelectorAll('input[type="checkbox"][name="ids"]').forEach(function (box) { box.checked = all.checked; });
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);

  function renderAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]:not([data-rendered])").forEach(render);
  }

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { renderAll(event.target); });
  window.flocon = { charts: charts, renderAll: renderAll, toCsv: toCsv };
})();
