/* Draws the report's time-series charts with uPlot from the JSON island #report-data.
   Each chart element ends with data-state="rendered" and data-points="N" (non-empty values drawn),
   or data-state="error"; document.body gets data-charts="ready" when all are done. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var FLOOR = data.burnFloor;
  var HEIGHT = 230;
  var plots = [];
  var WINDOW_COLOURS = {
    "5m": "#fca5a5", "30m": "#f97316", "1h": "#ef4444", "2h": "#eab308",
    "6h": "#b91c1c", "1d": "#2563eb", "3d": "#1e3a8a"
  };
  var TIER_COLOURS = { page: "#dc2626", ticket: "#d97706" };

  function utc(ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); }

  // UTC clock labels, with the date at midnight, like the report's SVG axes.
  var X_AXIS = {
    values: function (u, splits) {
      return splits.map(function (ts) {
        var iso = new Date(ts * 1e3).toISOString();
        return iso.slice(11, 16) === "00:00" ? iso.slice(5, 10) : iso.slice(11, 16);
      });
    }
  };

  function fixed(digits) {
    return function (u, v) { return v == null ? "–" : v.toFixed(digits); };
  }

  function percentAxis(u, values) {
    return values.map(function (v) { return v == null ? "" : (+v.toFixed(3)) + "%"; });
  }

  function burnValue(u, v) {
    if (v == null) { return "–"; }
    if (v <= FLOOR) { return "0"; }
    return v < 10 ? v.toFixed(2) : v.toFixed(1);
  }

  // Log-scale burn axes: from the zero floor up to the next power of ten above the data (at least ×100).
  function burnRange(u, min, max) {
    var top = Math.max(2, Math.ceil(Math.log10(Math.max(max || 1, 1))));
    return [FLOOR, Math.pow(10, top)];
  }

  function powersOfTen(u, axis, min, max) {
    var out = [];
    for (var p = Math.round(Math.log10(min)); Math.pow(10, p) <= max * 1.001; p++) { out.push(Math.pow(10, p)); }
    return out;
  }

  function burnTicks(u, values) {
    return values.map(function (v) { return v <= FLOOR * 1.001 ? "0" : "×" + (+v.toPrecision(3)); });
  }

  function shading(spans) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          spans.forEach(function (s) {
            var left = Math.max(u.valToPos(s[0], "x", true), u.bbox.left);
            var right = Math.min(u.valToPos(s[1], "x", true), u.bbox.left + u.bbox.width);
            if (right <= left) { return; }
            ctx.fillStyle = s[2] === "page" ? "rgba(220,38,38,0.16)" : "rgba(245,158,11,0.18)";
            ctx.fillRect(left, u.bbox.top, Math.max(right - left, 2), u.bbox.height);
          });
          ctx.restore();
        }]
      }
    };
  }

  function count(series) {
    var n = 0;
    series.slice(1).forEach(function (values) {
      values.forEach(function (v) { if (v != null) { n += 1; } });
    });
    return n;
  }

  function width(el) { return Math.max(300, el.clientWidth - 4); }

  function mount(id, build) {
    var el = document.getElementById(id);
    if (!el) { return; }
    try {
      var spec = build();
      var opts = spec[0], series = spec[1];
      opts.width = width(el);
      opts.height = HEIGHT;
      opts.tzDate = utc;
      opts.cursor = { sync: { key: "report" } };
      plots.push([el, new uPlot(opts, series, el)]);
      el.setAttribute("data-points", String(count(series)));
      el.setAttribute("data-state", "rendered");
    } catch (e) {
      el.setAttribute("data-state", "error");
      el.textContent = "This chart could not be drawn: " + e.message;
      throw e;
    }
  }

  function constant(xs, value) { return xs.map(function () { return value; }); }

  data.slos.forEach(function (slo) {
    var xs = data.x;
    mount("chart-" + slo.key + "-attainment", function () {
      return [{
        plugins: [shading(slo.spans)],
        scales: { x: { time: true }, pct: { auto: true }, budget: { auto: true } },
        axes: [
          X_AXIS,
          { scale: "pct", values: percentAxis, size: 64 },
          { scale: "budget", side: 1, values: percentAxis, grid: { show: false }, size: 64 }
        ],
        series: [
          {},
          { label: "attainment %", scale: "pct", stroke: "#2563eb", width: 2, value: fixed(3) },
          { label: "objective %", scale: "pct", stroke: "#16a34a", dash: [6, 4], width: 1.5, value: fixed(2) },
          { label: "budget left % (right)", scale: "budget", stroke: "#9333ea", width: 1.5, value: fixed(1) }
        ]
      }, [xs, slo.attainment, constant(xs, slo.objective), slo.remaining]];
    });

    mount("chart-" + slo.key + "-burn", function () {
      var series = [{}];
      var values = [xs];
      Object.keys(slo.burn).forEach(function (w) {
        series.push({ label: w, stroke: WINDOW_COLOURS[w] || "#64748b", width: 1.5, value: burnValue });
        values.push(slo.burn[w]);
      });
      slo.tiers.forEach(function (t) {
        series.push({
          label: t.severity + " " + t.name + " ×" + t.factor,
          stroke: TIER_COLOURS[t.severity] || "#475569", dash: [5, 5], width: 1, points: { show: false },
          value: function () { return "×" + t.factor; }
        });
        values.push(constant(xs, t.factor));
      });
      return [{
        plugins: [shading(slo.spans)],
        scales: { x: { time: true }, y: { distr: 3, log: 10, range: burnRange } },
        axes: [X_AXIS, { splits: powersOfTen, values: burnTicks, size: 60 }],
        series: series
      }, values];
    });

    if (slo.latency) {
      mount("chart-" + slo.key + "-latency", function () {
        var lat = slo.latency;
        var series = [{},
          { label: "p50 ms", stroke: "#16a34a", width: 1.5, value: fixed(0) },
          { label: "p95 ms", stroke: "#2563eb", width: 1.5, value: fixed(0) },
          { label: "p99 ms", stroke: "#9333ea", width: 1.5, value: fixed(0) }];
        var values = [lat.x, lat.p50, lat.p95, lat.p99];
        if (lat.threshold) {
          series.push({ label: "threshold", stroke: "#dc2626", dash: [6, 4], width: 1, value: fixed(0) });
          values.push(constant(lat.x, lat.threshold));
        }
        return [{
          plugins: [shading(slo.spans)],
          scales: { x: { time: true }, y: { auto: true } },
          axes: [X_AXIS, { values: function (u, vals) { return vals.map(function (v) { return v >= 1000 ? (v / 1000) + " s" : v + " ms"; }); }, size: 60 }],
          series: series
        }, values];
      });
    }
  });

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      plots.forEach(function (p) { p[1].setSize({ width: width(p[0]), height: HEIGHT }); });
    }, 100);
  });
  document.body.setAttribute("data-charts", "ready");
})();
