/* Polls /dashboard/data and redraws the charts. Time series are kept here, in the page (the last 120 polls). */
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var INTERVAL = Math.max(100, Number(params.get('interval')) || 1000);
  var WINDOW_MS = 10000;
  var KEEP = 120;
  var history = []; // [{ time, stats }]
  var C = window.StrataCharts;

  function $(id) { return document.getElementById(id); }
  function pct(x) { return (x * 100).toFixed(1) + '%'; }
  function ms(v) { return v >= 1000 ? (v / 1000).toFixed(1) + ' s' : v >= 1 ? v.toFixed(v < 10 ? 1 : 0) + ' ms' : (v * 1000).toFixed(v < 0.01 ? 1 : 0) + ' µs'; }
  function bytes(v) { return v >= 1048576 ? (v / 1048576).toFixed(1) + ' MiB' : v >= 1024 ? (v / 1024).toFixed(1) + ' KiB' : Math.round(v) + ' B'; }
  function money(v) { return '$' + (v >= 1 ? v.toFixed(2) : v.toFixed(4)); }

  /** The snapshot WINDOW_MS before `index` (or the oldest kept). */
  function before(index) {
    var t = history[index].time - WINDOW_MS;
    for (var i = index; i >= 0; i--) if (history[i].time <= t) return history[i];
    return index > 0 ? history[0] : undefined;
  }

  function hitRateSeries() {
    var names = Object.keys(history[history.length - 1].stats.caches);
    return names.map(function (name) {
      var points = history.map(function (h, i) {
        var prev = before(i);
        var now = h.stats.caches[name];
        if (!prev || !prev.stats.caches[name] || !now) return [h.time, null];
        var hits = now.hits - prev.stats.caches[name].hits, misses = now.misses - prev.stats.caches[name].misses;
        return [h.time, hits + misses === 0 ? null : hits / (hits + misses)];
      });
      return { name: name, points: points };
    }).filter(function (s) { return s.points.some(function (p) { return p[1] !== null; }); });
  }

  function draw(data) {
    var s = data.stats;
    history.push({ time: data.time, stats: s });
    if (history.length > KEEP) history.shift();

    $('hitRate').textContent = pct(s.hitRate);
    $('lookups').textContent = String(s.hits + s.misses);
    $('tiers').textContent = data.tiers.join(' + ');
    $('state').textContent = s.l2.state;
    $('state').className = s.l2.state;
    $('saved').textContent = money(s.saved.cost) + ' · ' + s.saved.tokens.toLocaleString() + ' tokens';
    $('updated').textContent = 'updated ' + new Date(data.time).toLocaleTimeString();

    var D = data.documents;
    $('documentsNote').textContent = 'PDF.js ' + D.pdf.runs + ' runs, ' + D.pdf.hits + ' hits saved ' + ms(D.pdf.savedMs) +
      ' · OCR ' + D.ocr.runs + ' runs, ' + D.ocr.hits + ' hits saved ' + ms(D.ocr.savedMs) + ' and ' + money(D.ocr.savedCost);
    C.bars($('documentsChart'), [{ label: 'PDF.js', values: [D.pdf.workMs, D.pdf.savedMs] }, { label: 'OCR', values: [D.ocr.workMs, D.ocr.savedMs] }],
      ['work done', 'work saved'], { format: ms, empty: 'no documents yet' });

    C.line($('hitRateChart'), hitRateSeries(), { yMin: 0, yMax: 1, format: pct, empty: 'waiting for lookups' });

    var L = s.latency;
    var tiers = [
      { label: 'L1 get', v: L.l1.get }, { label: 'L2 get', v: L.l2.get }, { label: 'L2 set', v: L.l2.set }, { label: 'factory', v: L.factory },
    ];
    C.bars($('latencyChart'), tiers.map(function (t) { return { label: t.label, values: [t.v.p50Ms, t.v.p95Ms, t.v.p99Ms] }; }),
      ['p50', 'p95', 'p99'], { log: true, format: ms, empty: 'no timings yet' });

    $('memoryNote').textContent = s.l1.entries + ' entries · ' + bytes(s.l1.bytes) + ' of ' + bytes(s.l1.maxBytes) +
      ' · ' + s.l1.evictions + ' evictions';
    C.line($('memoryChart'), [
      { name: 'L1 bytes', points: history.map(function (h) { return [h.time, h.stats.l1.bytes]; }) },
    ], { yMin: 0, format: bytes });

    C.hbars($('keysChart'), data.topKeys.map(function (k) { return { label: k.key, value: k.count }; }), { color: 0, empty: 'no lookups yet' });
    C.hbars($('tagsChart'), data.topTags.map(function (k) { return { label: k.key, value: k.count }; }), { color: 3, empty: 'no tagged writes yet' });

    var names = Object.keys(s.caches);
    var semanticHits = names.reduce(function (n, name) { return n + s.caches[name].semantic.hits; }, 0);
    var buckets = names.length ? s.caches[names[0]].semantic.histogram.map(function (b, i) {
      return { label: '≤' + b.le, values: [names.reduce(function (n, name) { return n + s.caches[name].semantic.histogram[i].count; }, 0)] };
    }) : [];
    $('semanticNote').textContent = semanticHits === 0
      ? 'no semantic hits yet (the AI cache reports them through CacheTelemetry.recordSemanticHit)'
      : semanticHits + ' semantic hits';
    C.bars($('semanticChart'), buckets, ['hits'], { empty: 'no semantic hits yet' });

    $('savedNote').textContent = money(s.saved.cost) + ' and ' + s.saved.tokens.toLocaleString() + ' tokens not spent, cumulative';
    C.line($('savedChart'), names.filter(function (name) { return s.caches[name].saved.cost > 0; }).map(function (name) {
      return { name: name, points: history.map(function (h) { return [h.time, h.stats.caches[name] ? h.stats.caches[name].saved.cost : null]; }) };
    }), { yMin: 0, format: money, empty: 'no savings reported yet (CacheTelemetry.recordSavings)' });

    $('advice').textContent = s.advice.map(function (a) { return '⚠ ' + a.message; }).join('   ');
  }

  function poll() {
    fetch('/dashboard/data', { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(draw)
      .catch(function (e) { $('updated').textContent = 'poll failed: ' + e; })
      .then(function () { setTimeout(poll, INTERVAL); });
  }
  poll();
})();
