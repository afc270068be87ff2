// lnpilot dashboard charts: draws every [data-chart] element with the vendored uPlot, from
// the JSON payload the page embeds (lnpilot/web/charts.py writes it). Policy changes are
// drawn as dashed vertical markers. No network, no inline script: the page's CSP allows
// only the dashboard's own files.
(function () {
  "use strict";

  function fmt(v) {
    if (v == null) return "–";
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
    return a >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(2);
  }

  function pathsFor(kind) {
    if (kind === "bars") return uPlot.paths.bars({ size: [0.8, 200], align: 1 });
    if (kind === "step") return uPlot.paths.stepped({ align: 1 });
    return undefined;
  }

  // Dashed vertical lines at the markers' times, drawn over the series.
  function markersPlugin(markers, color) {
    return {
      hooks: {
        draw: [function (u) {
          if (!markers.length) return;
          var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
          ctx.save();
          ctx.strokeStyle = color;
          ctx.lineWidth = 1;
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          markers.forEach(function (m) {
            var x = Math.round(u.valToPos(m.t, "x", true)) + 0.5; // on a pixel: crisp
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
          });
          ctx.restore();
        }],
      },
    };
  }

  function build(el, spec) {
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var series = [{}].concat(spec.series.map(function (s) {
      return {
        label: s.label,
        stroke: s.color,
        fill: s.kind === "bars" ? s.color + "99" : undefined,
        width: 1.5,
        scale: s.scale,
        paths: pathsFor(s.kind),
        points: { show: false },
        spanGaps: s.kind === "line",
        value: function (u, v) { return fmt(v); },
      };
    }));
    var axes = [
      {},
      { scale: "y", label: spec.unit, size: 56, values: function (u, vs) { return vs.map(fmt); } },
    ];
    // Each x is a bucket's start: the scale runs to the end of the last bucket, so the
    // last bar is drawn whole.
    var xMin = spec.x[0], xMax = spec.x[spec.x.length - 1] + spec.step;
    var scales = { x: { time: true, range: function () { return [xMin, xMax]; } }, y: { range: function (u, lo, hi) { return [Math.min(0, lo), hi > 0 ? hi * 1.05 : 1]; } } };
    if (spec.unit2) {
      axes.push({ scale: "y2", side: 1, label: spec.unit2, size: 56, grid: { show: false },
        values: function (u, vs) { return vs.map(fmt); } });
      scales.y2 = { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.05 : 1]; } };
    }
    var opts = {
      width: Math.max(el.clientWidth, 200),
      height: el.clientWidth < 500 ? 200 : 240,
      series: series,
      axes: axes,
      scales: scales,
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      plugins: [markersPlugin(spec.markers, spec.marker_color)],
    };
    return new uPlot(opts, data, el);
  }

  var plots = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) return;
    var plot = build(el, JSON.parse(source.textContent));
    plots.push({ el: el, plot: plot });
    el.setAttribute("data-drawn", String(plot.data[0].length));
  });

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      plots.forEach(function (p) {
        p.plot.setSize({ width: Math.max(p.el.clientWidth, 200), height: p.el.clientWidth < 500 ? 200 : 240 });
      });
    }, 150);
  });
})();
