/*
 * Tiny canvas charts for the dashboard: a line chart, grouped bars (optionally log scale) and horizontal
 * bars. No dependencies, no build step. Each draw sets `data-points` on the canvas to the number of data
 * points drawn and `data-max` to the largest value, so a test (or a person with devtools) can tell an
 * empty chart from a drawn one.
 */
(function () {
  'use strict';
  var PALETTE = ['#4cc9f0', '#f72585', '#b8f35d', '#ffb703', '#9d7dff', '#fb8500', '#2ec4b6'];
  var INK = '#e6edf3', MUTED = '#8b98a5', GRID = '#2a3541';

  function setup(canvas) {
    var ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    var ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = '11px system-ui, sans-serif';
    return { ctx: ctx, w: w, h: h };
  }

  function empty(canvas, c, message) {
    c.ctx.fillStyle = MUTED;
    c.ctx.textAlign = 'center';
    c.ctx.fillText(message || 'no data yet', c.w / 2, c.h / 2);
    canvas.dataset.points = '0';
    canvas.dataset.max = '0';
  }

  function legend(c, names, x0) {
    var x = x0;
    names.forEach(function (name, i) {
      c.ctx.fillStyle = PALETTE[i % PALETTE.length];
      c.ctx.fillRect(x, 6, 10, 10);
      c.ctx.fillStyle = INK;
      c.ctx.textAlign = 'left';
      c.ctx.fillText(name, x + 14, 15);
      x += c.ctx.measureText(name).width + 30;
    });
  }

  /** series: [{ name, points: [[x, y|null], ...] }]; opts: { yMin, yMax, format(y), xFormat(x) } */
  function line(canvas, series, opts) {
    var c = setup(canvas);
    opts = opts || {};
    var all = [];
    series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] !== null && p[1] !== undefined) all.push(p); }); });
    if (all.length === 0) return empty(canvas, c, opts.empty);
    var left = 52, right = 12, top = 24, bottom = 22;
    var xs = all.map(function (p) { return p[0]; }), ys = all.map(function (p) { return p[1]; });
    var xMin = Math.min.apply(null, xs), xMax = Math.max.apply(null, xs);
    if (xMax === xMin) xMax = xMin + 1;
    var yMin = opts.yMin !== undefined ? opts.yMin : Math.min.apply(null, ys);
    var yMax = opts.yMax !== undefined ? opts.yMax : Math.max.apply(null, ys);
    if (yMax === yMin) yMax = yMin + 1;
    var X = function (x) { return left + (x - xMin) / (xMax - xMin) * (c.w - left - right); };
    var Y = function (y) { return c.h - bottom - (y - yMin) / (yMax - yMin) * (c.h - top - bottom); };
    var fmt = opts.format || function (v) { return String(Math.round(v * 100) / 100); };
    c.ctx.strokeStyle = GRID;
    c.ctx.fillStyle = MUTED;
    c.ctx.textAlign = 'right';
    for (var i = 0; i <= 4; i++) {
      var v = yMin + (yMax - yMin) * i / 4;
      c.ctx.beginPath(); c.ctx.moveTo(left, Y(v)); c.ctx.lineTo(c.w - right, Y(v)); c.ctx.stroke();
      c.ctx.fillText(fmt(v), left - 6, Y(v) + 4);
    }
    c.ctx.textAlign = 'center';
    var xf = opts.xFormat || function (x) { return new Date(x).toLocaleTimeString(); };
    c.ctx.fillText(xf(xMin), X(xMin) + 20, c.h - 6);
    c.ctx.fillText(xf(xMax), X(xMax) - 24, c.h - 6);
    series.forEach(function (s, k) {
      c.ctx.strokeStyle = PALETTE[k % PALETTE.length];
      c.ctx.lineWidth = 2;
      c.ctx.beginPath();
      var pen = false;
      s.points.forEach(function (p) {
        if (p[1] === null || p[1] === undefined) { pen = false; return; }
        if (pen) c.ctx.lineTo(X(p[0]), Y(p[1])); else c.ctx.moveTo(X(p[0]), Y(p[1]));
        pen = true;
      });
      c.ctx.stroke();
      c.ctx.lineWidth = 1;
    });
    legend(c, series.map(function (s) { return s.name; }), left);
    canvas.dataset.points = String(all.length);
    canvas.dataset.max = String(Math.max.apply(null, ys));
  }

  /** groups: [{ label, values: [number|null] }]; names: bar names; opts: { log, format(v) } */
  function bars(canvas, groups, names, opts) {
    var c = setup(canvas);
    opts = opts || {};
    var vals = [];
    groups.forEach(function (g) { g.values.forEach(function (v) { if (v !== null && v !== undefined && v > 0) vals.push(v); }); });
    if (vals.length === 0) return empty(canvas, c, opts.empty);
    var left = 52, right = 12, top = 24, bottom = 22;
    var max = Math.max.apply(null, vals), min = Math.min.apply(null, vals);
    var log = !!opts.log;
    var lo = log ? Math.pow(10, Math.floor(Math.log10(min))) : 0;
    var hi = log ? Math.pow(10, Math.ceil(Math.log10(max))) : max * 1.1;
    if (hi === lo) hi = lo * 10 || 1;
    var Y = function (v) {
      var f = log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
      return c.h - bottom - Math.max(0, f) * (c.h - top - bottom);
    };
    var fmt = opts.format || String;
    c.ctx.strokeStyle = GRID; c.ctx.fillStyle = MUTED; c.ctx.textAlign = 'right';
    var ticks = log ? Math.round(Math.log10(hi) - Math.log10(lo)) : 4;
    for (var i = 0; i <= ticks; i++) {
      var t = log ? lo * Math.pow(10, i) : lo + (hi - lo) * i / ticks;
      c.ctx.beginPath(); c.ctx.moveTo(left, Y(t)); c.ctx.lineTo(c.w - right, Y(t)); c.ctx.stroke();
      c.ctx.fillText(fmt(t), left - 6, Y(t) + 4);
    }
    var gw = (c.w - left - right) / groups.length, bw = Math.min(28, (gw - 16) / names.length);
    var drawn = 0;
    groups.forEach(function (g, gi) {
      var x0 = left + gi * gw + (gw - bw * names.length) / 2;
      g.values.forEach(function (v, k) {
        if (v === null || v === undefined || v <= 0) return;
        c.ctx.fillStyle = PALETTE[k % PALETTE.length];
        var y = Y(v);
        c.ctx.fillRect(x0 + k * bw, y, bw - 3, c.h - bottom - y);
        drawn++;
      });
      c.ctx.fillStyle = INK; c.ctx.textAlign = 'center';
      c.ctx.fillText(g.label, left + gi * gw + gw / 2, c.h - 6);
    });
    legend(c, names, left);
    canvas.dataset.points = String(drawn);
    canvas.dataset.max = String(max);
  }

  /** items: [{ label, value }] drawn as horizontal bars, largest first. */
  function hbars(canvas, items, opts) {
    var c = setup(canvas);
    opts = opts || {};
    if (items.length === 0) return empty(canvas, c, opts.empty);
    var max = Math.max.apply(null, items.map(function (i) { return i.value; })) || 1;
    var row = Math.min(22, (c.h - 4) / items.length), labelW = Math.min(200, c.w * 0.55);
    items.forEach(function (item, i) {
      var y = 2 + i * row;
      var label = item.label.length > 34 ? '…' + item.label.slice(-33) : item.label;
      c.ctx.fillStyle = MUTED; c.ctx.textAlign = 'right';
      c.ctx.fillText(label, labelW - 6, y + row / 2 + 4);
      c.ctx.fillStyle = PALETTE[(opts.color || 0) % PALETTE.length];
      var w = (c.w - labelW - 40) * item.value / max;
      c.ctx.fillRect(labelW, y + 2, Math.max(2, w), row - 5);
      c.ctx.fillStyle = INK; c.ctx.textAlign = 'left';
      c.ctx.fillText(String(item.value), labelW + w + 4, y + row / 2 + 4);
    });
    canvas.dataset.points = String(items.length);
    canvas.dataset.max = String(max);
  }

  window.StrataCharts = { line: line, bars: bars, hbars: hbars };
})();
