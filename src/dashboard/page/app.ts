/**
 * The dashboard script, plain browser JS with no framework and no build step.
 * A full state arrives once from /api/stream, then deltas. Each message only
 * updates the page's model and marks what is dirty; one render per animation
 * frame writes the DOM and the canvases, and never reads layout after writing
 * (widths are read once, first, per frame). Embedded as a string so that it
 * ships in dist: keep it free of backticks and dollar-brace (String.raw).
 * test/dashboard checks that it parses.
 */
export const APP_JS = String.raw`'use strict';
(function () {
  var C = window.BTCharts;
  var MAX_FEED = 150, WINDOW = 300, AUTO_OPEN = 1, SUMMARY_EVERY_MS = 5000, FLASH_MAX = 12;
  var files = new Map();   // md5 -> { data, row, detail, open, summary, fetchedAt, version, seen }
  var peers = new Map();   // n -> { data }: the table draws only the rows in view (see renderPeers)
  var labels = new Map();  // peerId -> 'ip:port', kept after logout for the feed
  var kinds = { login: [], add: [], part: [], logout: [] };
  var filter = { login: true, add: true, part: true, logout: true };
  var bins = [], binMs = 1000, totals = null, lastSeq = 0, skipped = 0, pushes = 0;
  var offset = Infinity, offsets = [], oldestPending = null, lastMsgAt = 0, lagMs = 0;
  var dirty = { totals: false, files: new Set(), filesAll: false, peers: new Set(), peersAll: false, peerWindow: false, peerChart: false, feed: false, feedAll: false, charts: false, details: new Set() };
  var frameQueued = false, palette = null, anyLastSeen = false;
  /* Sizes come from a ResizeObserver (after layout, before paint): the render never asks for layout.
     Each watched node says what a change of its size makes dirty, so that opening one file's parts
     (its card appears) redraws that card, not every chart on the page. */
  var widths = new WeakMap(), heights = new WeakMap(), onResize = new WeakMap();
  var resized = new ResizeObserver(function (entries) {
    entries.forEach(function (en) {
      var w = en.contentRect.width, h = en.contentRect.height, changedW = widths.get(en.target) !== w, changedH = heights.get(en.target) !== h;
      widths.set(en.target, w); heights.set(en.target, h);
      var fn = onResize.get(en.target);
      if (fn && (changedW || changedH)) fn(w, h, changedW);
    });
    queue();
  });
  function watchSize(node, fn) { onResize.set(node, fn); resized.observe(node); }
  function widthOf(node, fallback) { var w = widths.get(node); return w > 0 ? w : fallback; }

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  /* Text only when it changed. The highlight is a Web Animation (no layout read), at most one per
     node every few seconds: an animation repaints every frame while it runs, and values that change
     several times a second would keep the page painting at 60 frames a second. */
  var FLASH_EVERY_MS = 5000;
  function setText(node, text, flash) {
    text = String(text);
    if (node.textContent === text) return false;
    node.textContent = text;
    if (flash && node.animate) {
      var t = Date.now();
      if (!(t - (node.flashedAt || 0) < FLASH_EVERY_MS)) {
        node.flashedAt = t;
        node.animate([{ backgroundColor: palette.bump }, { backgroundColor: 'transparent' }], { duration: 900, easing: 'ease-out' });
      }
    }
    return true;
  }
  function fmtBytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + ' ' + u[i];
  }
  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
  function pad2(n) { return n < 10 ? '0' + n : String(n); }
  function clock(ms) { var d = new Date(ms); return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()); }
  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  function plural(n, one, many) { return fmtInt(n) + ' ' + (n === 1 ? one : (many || one + 's')); }
  function pct(a, b) { return b > 0 ? Math.round(100 * a / b) + ' %' : '\u2013'; }

  function rgbOf(css) {
    var c = document.createElement('canvas'); c.width = c.height = 1;
    var g = c.getContext('2d'); g.fillStyle = css; g.fillRect(0, 0, 1, 1);
    var d = g.getImageData(0, 0, 1, 1).data; return [d[0], d[1], d[2]];
  }
  function loadPalette() {
    var cs = getComputedStyle(document.documentElement);
    function v(name) { return cs.getPropertyValue(name).trim(); }
    palette = { text: v('--text'), muted: v('--muted'), grid: v('--border'), bump: v('--bump'), missing: v('--missing'), served: v('--served'),
      held: rgbOf(v('--held')), track: rgbOf(v('--track')), rare: rgbOf(v('--heat-rare')), mid: rgbOf(v('--heat-mid')), common: rgbOf(v('--heat-common')) };
    palette.heldCss = v('--held');
  }

  /* ---------- model: messages update it and mark what to redraw ---------- */
  function queue() { if (!frameQueued) { frameQueued = true; requestAnimationFrame(render); } }
  function noteClock(at) {
    var o = Date.now() - at;
    offsets.push(o); if (offsets.length > 40) offsets.shift();
    offset = Math.min.apply(null, offsets);
  }
  function applyState(s) {
    binMs = s.binMs; totals = s.totals; bins = s.bins.slice(-WINDOW);
    var keep = new Set();
    s.files.forEach(function (f) { keep.add(f.md5); upsertFile(f); });
    files.forEach(function (e, md5) { if (!keep.has(md5)) { e.row.remove(); e.detail.remove(); files.delete(md5); } });
    peers.clear();
    s.peers.forEach(upsertPeer);
    kinds = { login: [], add: [], part: [], logout: [] };
    lastSeq = 0;
    addEvents(s.events);
    dirty.filesAll = dirty.peersAll = dirty.feedAll = dirty.totals = dirty.charts = true;
  }
  function applyDelta(d) {
    totals = d.totals; dirty.totals = true;
    d.files.forEach(upsertFile);
    d.touched.forEach(function (md5) { var e = files.get(md5); if (e) { e.version++; dirty.files.add(md5); } });
    d.peers.set.forEach(upsertPeer);
    d.peers.upd.forEach(function (u) {
      var e = peers.get(u[0]); if (!e) return;
      e.data.held = u[1]; e.data.of = u[2]; e.data.served = u[3]; e.data.servedBytes = u[4];
      if (u.length > 5) { e.data.lastSeen = u[5]; anyLastSeen = true; }
      dirty.peers.add(u[0]);
    });
    d.peers.gone.forEach(function (n) { if (peers.delete(n)) dirty.peersAll = true; });
    if (d.bins.length) {
      var last = bins.length ? bins[bins.length - 1].t : -Infinity;
      d.bins.forEach(function (b) { if (b.t > last) bins.push(b); });
      if (bins.length > WINDOW) bins.splice(0, bins.length - WINDOW);
      dirty.charts = true;
    }
    skipped = d.skipped;
    addEvents(d.events);
  }
  function upsertFile(f) {
    var e = files.get(f.md5);
    if (!e) { e = fileEntry(f); dirty.filesAll = true; }
    e.version++;
    e.data = f;
    dirty.files.add(f.md5);
  }
  function upsertPeer(p) {
    if (p.lastSeen !== undefined) anyLastSeen = true;
    labels.set(p.peerId, p.ip4 + ':' + p.port);
    var e = peers.get(p.n);
    if (!e) { e = { data: p }; peers.set(p.n, e); dirty.peersAll = true; }
    e.data = p;
    dirty.peers.add(p.n);
  }
  function kindOf(type) { return type === 'logout-refused' ? 'logout' : type; }
  function addEvents(list) {
    list.forEach(function (ev) {
      if (ev.seq <= lastSeq) return;
      lastSeq = ev.seq;
      if (ev.peer) labels.set(ev.peerId, ev.peer);
      var k = kinds[kindOf(ev.type)]; if (!k) return;
      k.push(ev); if (k.length > MAX_FEED) k.shift();
      dirty.feed = true;
    });
  }

  /* ---------- files ---------- */
  function fileEntry(f) {
    var row = el('tr', 'file'); row.dataset.md5 = f.md5; row.tabIndex = 0;
    var name = el('td', 'name'); name.append(el('span', 'caret', '\u25B8'), el('span', 'fname'));
    var md5 = el('td', 'md5 mono', f.md5); md5.title = f.md5;
    row.append(name, md5, el('td', 'num size'), el('td', 'num parts'), el('td', 'num holders'), el('td', 'num full'), el('td', 'num copies'));
    var detail = el('tr', 'detail'); detail.hidden = true;
    var cell = el('td'); cell.colSpan = 7;
    var card = el('div', 'card');
    var h1 = el('div', 'card-head'); h1.append(el('h3', null, 'Part availability'), el('span', 'legend-note muted', 'loading\u2026'));
    var heat = el('canvas', 'heat');
    var legend = el('div', 'legend');
    var h2 = el('div', 'card-head'); h2.append(el('h3', null, 'Who holds what'), el('span', 'rows-note muted', 'loading\u2026'));
    var rows = el('canvas', 'rows');
    card.append(h1, heat, legend, h2, rows); cell.append(card); detail.append(cell);
    var e = { data: f, row: row, detail: detail, card: card, heat: heat, rows: rows, legend: legend, open: false, summary: null, fetchedAt: 0, version: 0, shownVersion: -1, busy: false, toggled: false, drawnWidth: 0 };
    watchSize(card, function (w) { if (e.open && w > 0 && w !== e.drawnWidth) dirty.details.add(e.data.md5); });
    function toggle() { e.toggled = true; setOpen(e, !e.open); }
    row.addEventListener('click', toggle);
    // A pointer on a closed row is a click to come: fetch its holders now, so that they are there when it opens.
    row.addEventListener('pointerenter', function () { if (!e.open) maybeFetch(e, !e.summary, true); });
    row.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(); } });
    tooltip(heat, C.heatTip); tooltip(rows, C.groupsTip);
    files.set(f.md5, e);
    return e;
  }
  function setOpen(e, open) {
    if (e.open === open) return;
    e.open = open;
    e.row.classList.toggle('open', open);
    e.detail.hidden = !open;
    if (open) { dirty.details.add(e.data.md5); maybeFetch(e, true); }
    queue();
  }
  /* Holder summaries: only for open files (or one about to open), at most every few seconds each, when the file changed. */
  function maybeFetch(e, now, closed) {
    if ((!e.open && !closed) || e.busy || document.hidden) return;
    if (!now && (e.version === e.shownVersion || Date.now() - e.fetchedAt < SUMMARY_EVERY_MS)) return;
    e.busy = true;
    var v = e.version;
    fetch('/api/files/' + e.data.md5 + '/summary?groups=24&cols=320', { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        var bin = atob(s.counts), w = s.countBytes, counts = new Uint16Array(bin.length / w);
        for (var i = 0; i < counts.length; i++) counts[i] = w === 1 ? bin.charCodeAt(i) : bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
        s.countsArr = counts;
        s.groups.forEach(function (g) { var b = atob(g.cells), a = new Uint8Array(b.length); for (var j = 0; j < b.length; j++) a[j] = b.charCodeAt(j); g.bytes = a; });
        e.summary = s; e.shownVersion = v; e.fetchedAt = Date.now();
        dirty.details.add(e.data.md5); queue();
      })
      .catch(function () { /* the next tick retries */ })
      .then(function () { e.busy = false; });
  }
  function renderFileRow(e, flash) {
    var f = e.data, c = e.row.children;
    setText(c[0].lastChild, f.fileName); c[0].title = f.fileName;
    setText(c[2], fmtBytes(f.fileLength)); c[2].title = fmtInt(f.fileLength) + ' bytes, parts of ' + fmtBytes(f.partLength);
    setText(c[3], fmtInt(f.parts), flash);
    setText(c[4], fmtInt(f.holders), flash);
    setText(c[5], fmtInt(f.fullHolders), flash);
    setText(c[6], fmtInt(f.completeCopies), flash);
    c[6].classList.toggle('bad', f.completeCopies === 0);
  }
  /* A card opened before its first summary arrived shows at once what the page knows (the file's row) in
     canvases of their final height, and the summary patches it in when it comes: a click never waits for a fetch. */
  function renderPending(e, width) {
    var f = e.data;
    C.placeholder(e.heat, width, f.parts > 0 ? C.heatHeight(width, f.parts) : 1, palette, 'loading the part map\u2026');
    C.placeholder(e.rows, width, 16 * Math.min(24, Math.max(1, f.holders)), palette, 'loading who holds what\u2026');
    e.legend.textContent = f.parts === 0 ? 'An empty file: it has no parts.'
      : plural(f.completeCopies, 'complete copy', 'complete copies') + ' \u00B7 ' + plural(f.fullHolders, 'full holder');
    setText(e.card.querySelector('.legend-note'), plural(f.parts, 'part') + ' \u00B7 loading\u2026');
    setText(e.card.querySelector('.rows-note'), plural(f.holders, 'holder') + ' \u00B7 loading\u2026');
  }
  function renderDetail(e, width) {
    var s = e.summary;
    e.drawnWidth = width;
    if (!s) { renderPending(e, width); return; }
    if (s.parts === 0) {
      C.size(e.heat, width, 1);
      e.legend.textContent = 'An empty file: it has no parts.';
      e.legend.dataset.min = e.legend.dataset.max = '0';
      setText(e.card.querySelector('.legend-note'), '0 parts');
    } else {
      var max = C.heat(e.heat, width, palette, s.countsArr, s.bucket), min = Infinity, missing = 0, rare = 0;
      for (var i = 0; i < s.countsArr.length; i++) { var v = s.countsArr[i]; if (v < min) min = v; if (v === 0) missing++; }
      for (var k = 0; k < s.countsArr.length; k++) if (s.countsArr[k] === min) rare++;
      e.legend.textContent = '';
      var scale = el('span', 'scale');
      scale.append(swatch(0, max), el('span', 'muted', '0'));
      var steps = Math.min(max, 6);
      for (var st = 1; st <= steps; st++) scale.append(swatch(steps === max ? st : Math.round(1 + (st - 1) * (max - 1) / Math.max(1, steps - 1)), max));
      scale.append(el('span', 'muted', max + ' holders'));
      var unit = s.bucket > 1 ? ' (groups of ' + s.bucket + ')' : '';
      e.legend.append(scale, el('span', 'summary', missing > 0 ? plural(missing * s.bucket, 'part') + ' with no holder' + unit
        : 'rarest: ' + plural(min, 'holder') + ' (' + plural(rare, s.bucket > 1 ? 'group' : 'part') + ') \u00B7 most: ' + plural(max, 'holder')));
      e.legend.dataset.min = String(min); e.legend.dataset.max = String(max);
      setText(e.card.querySelector('.legend-note'), plural(s.parts, 'part') + (e.heat.layout.merge * s.bucket > 1 ? ', ' + e.heat.layout.merge * s.bucket + ' per cell (rarest shown)' : ''));
    }
    if (s.groups.length === 0) { C.placeholder(e.rows, width, 16, palette, 'no logged-in holder'); }
    else C.groups(e.rows, width, palette, s, function (g) {
      return g.peers.length === 1 ? g.peers[0] + '  ' + pct(g.held[0], s.parts) : g.peers.length + ' peers  ' + pct(g.held[0], s.parts) + '\u2013' + pct(g.held[1], s.parts);
    });
    var grouped = s.groups.some(function (g) { return g.peers.length > 1; });
    // Summaries are refreshed every few seconds at most: say when this one is from.
    setText(e.card.querySelector('.rows-note'), (s.holders === 0 ? 'no logged-in holder' : plural(s.holders, 'peer') +
      (grouped ? ' in ' + s.groups.length + ' groups of neighbours by parts held (hover for names)' : '')) + ' \u00B7 as of ' + clock(e.fetchedAt));
  }
  function swatch(n, max) { var s = el('i', 'sw'); s.style.background = C.heatColor(palette, n, max); s.title = plural(n, 'holder'); return s; }

  /* ---------- peers ---------- */
  /* The peer table is virtual: the rows in the scroll box's view (and a few either side) exist, filled from the
     model; spacer rows stand for the others. Hundreds of peers changing every second then cost a screenful of
     writes and a small table to lay out, and a click elsewhere never waits for a 300-row table's layout. */
  var ROW_OVERSCAN = 6;
  var peerOrder = [], peerPool = [], peerView = { top: 0, height: 460 }, rowH = 30, spacerTop = null, spacerBottom = null;
  function spacer() { var tr = el('tr', 'spacer'), td = el('td'); td.colSpan = 8; tr.append(td); tr.hidden = true; return tr; }
  function peerRow() {
    var row = el('tr', 'peer');
    var since = el('td', 'since'); since.append(el('span', 'ago'), el('span', 'at muted'));
    row.append(el('td', 'mono addr'), el('td', 'mono v6'), el('td', 'num mono port'), since, el('td', 'num progress'), el('td', 'num held'), el('td', 'num served'), el('td', 'seen'));
    row.shown = 0;
    return row;
  }
  function fillPeer(row, p, flash) {
    var c = row.children;
    if (row.shown !== p.n) {
      row.shown = p.n; flash = false;
      row.dataset.peer = p.ip4 + ':' + p.port; row.dataset.n = String(p.n);
      c[0].textContent = p.ip4; c[1].textContent = p.ip6Compact; c[1].title = p.ip6; c[2].textContent = String(p.port);
    }
    setText(c[5], fmtInt(p.held), flash);
    setText(c[4], pct(p.held, p.of));
    setText(c[6], p.served > 0 ? fmtBytes(p.servedBytes) : '0', flash);
    c[6].title = '\u2248 ' + p.served + ' parts';
    setText(c[3].firstChild, ago(p.since)); setText(c[3].lastChild, clock(p.since));
    setText(c[7], p.lastSeen !== undefined ? ago(p.lastSeen) : '');
  }
  function renderPeers(all, flash) {
    var body = $('peers-body');
    if (!spacerTop) { spacerTop = spacer(); spacerBottom = spacer(); body.append(spacerTop, spacerBottom); }
    if (all) { peerOrder = []; peers.forEach(function (e, n) { peerOrder.push(n); }); }
    var n = peerOrder.length;
    var first = Math.max(0, Math.min(n, Math.floor(peerView.top / rowH) - ROW_OVERSCAN));
    var count = Math.max(0, Math.min(n - first, Math.ceil(peerView.height / rowH) + 2 * ROW_OVERSCAN));
    while (peerPool.length < count) { var r = peerRow(); body.insertBefore(r, spacerBottom); peerPool.push(r); if (peerPool.length === 1) watchSize(r, function (w, h) { if (h > 0 && Math.abs(h - rowH) > 0.5) { rowH = h; dirty.peerWindow = true; } }); }
    while (peerPool.length > count && peerPool.length > 1) peerPool.pop().remove();
    if (count === 0 && peerPool.length) { peerPool[0].hidden = true; } else if (peerPool.length) peerPool[0].hidden = false;
    setSpacer(spacerTop, first * rowH); setSpacer(spacerBottom, (n - first - count) * rowH);
    for (var k = 0; k < count; k++) {
      var e = peers.get(peerOrder[first + k]), row = peerPool[k];
      if (row.shown !== e.data.n || dirty.peers.has(e.data.n)) fillPeer(row, e.data, flash);
    }
    body.dataset.rows = String(n); body.dataset.first = String(first);
  }
  function setSpacer(tr, px) {
    tr.hidden = px <= 0;
    var h = Math.max(0, Math.round(px)) + 'px';
    if (tr.firstChild.style.height !== h) tr.firstChild.style.height = h;
  }
  function peerChart(width) {
    var list = [];
    peers.forEach(function (e) {
      var p = e.data;
      list.push({ progress: p.of > 0 ? p.held / p.of : 0, served: p.servedBytes,
        tip: p.ip4 + ':' + p.port + ' \u00B7 ' + pct(p.held, p.of) + ' \u00B7 served \u2248 ' + fmtBytes(p.servedBytes) });
    });
    list.sort(function (a, b) { return b.progress - a.progress || b.served - a.served; });
    if (!list.length) C.placeholder($('peer-chart'), width, 150, palette, 'no peer logged in');
    else C.peers($('peer-chart'), width, 150, palette, list, fmtBytes);
  }

  /* ---------- charts over time ---------- */
  function slotsOf() {
    var n = Math.min(WINDOW, Math.max(bins.length, 60));
    var t1 = bins.length ? bins[bins.length - 1].t : Math.floor(Date.now() / binMs) * binMs - binMs;
    return { n: n, t0: t1 - (n - 1) * binMs };
  }
  function seriesOf(key) {
    var sl = slotsOf(), byFile = new Map(), total = new Float64Array(sl.n).fill(NaN);
    bins.forEach(function (b) {
      var i = Math.round((b.t - sl.t0) / binMs); if (i < 0 || i >= sl.n) return;
      total[i] = b.bytes * 1000 / binMs;
      Object.keys(b[key]).forEach(function (md5) {
        var arr = byFile.get(md5); if (!arr) { arr = new Float64Array(sl.n).fill(NaN); byFile.set(md5, arr); }
        arr[i] = key === 'files' ? b.files[md5] * 1000 / binMs : b.full[md5];
      });
    });
    return { sl: sl, total: total, byFile: byFile };
  }
  function fileColor(md5) {
    var i = 0, k = 0;
    files.forEach(function (e, m) { if (m === md5) k = i; i++; });
    return C.COLORS[k % C.COLORS.length];
  }
  function nameOf(md5) { var e = files.get(md5); return e ? e.data.fileName : md5.slice(0, 8) + '\u2026'; }
  function renderCharts(width) {
    var sp = seriesOf('files'), sl = sp.sl;
    var slotTime = function (i) { return clock(sl.t0 + i * binMs); };
    var start = '\u2212' + Math.round(sl.n * binMs / 1000) + ' s';
    var series = [{ label: 'all files', color: palette.text, values: sp.total, width: 2 }];
    sp.byFile.forEach(function (v, md5) { for (var i = 0; i < sl.n; i++) if (!(v[i] >= 0) && sp.total[i] >= 0) v[i] = 0; series.push({ label: nameOf(md5), color: fileColor(md5), values: v }); });
    C.lines($('chart-throughput'), width, 180, palette, { slots: sl.n, series: series, format: function (v) { return fmtBytes(v) + '/s'; }, startLabel: start, slotTime: slotTime });
    legend($('legend-throughput'), series);
    // Completion: each file's last known count carried forward (a bin lists a file when its count changes or it is busy), ending at the live value.
    var sc = seriesOf('full'), cs = [];
    files.forEach(function (e, md5) {
      var v = sc.byFile.get(md5) || new Float64Array(sl.n).fill(NaN), lastV = NaN;
      for (var i = 0; i < sl.n; i++) { if (v[i] >= 0) lastV = v[i]; else v[i] = lastV; }
      v[sl.n - 1] = e.data.fullHolders;
      if (cs.length < C.COLORS.length) cs.push({ label: e.data.fileName, color: fileColor(md5), values: v });
    });
    C.lines($('chart-completion'), width, 180, palette, { slots: sl.n, series: cs, format: function (v) { return String(Math.round(v)); }, startLabel: start, slotTime: slotTime });
    legend($('legend-completion'), cs);
    var last = sp.total[sl.n - 1];
    setText($('throughput-now'), last >= 0 ? fmtBytes(last) + '/s' : '');
  }
  function legend(box, series) {
    var text = series.map(function (s) { return s.label; }).join('|');
    if (box.dataset.key === text) return;
    box.dataset.key = text; box.textContent = '';
    series.forEach(function (s) { var i = el('span', 'key'); var sw = el('i', 'sw'); sw.style.background = s.color; i.append(sw, s.label); box.append(i); });
  }

  /* ---------- feed ---------- */
  var BADGE = { login: 'login', add: 'add', part: 'part', logout: 'logout', 'logout-refused': 'refused' };
  function describe(ev) {
    var who = ev.peer || labels.get(ev.peerId) || 'peer ' + ev.peerId;
    var file = ev.fileName || (files.get(ev.md5) || { data: {} }).data.fileName || (ev.md5 ? ev.md5.slice(0, 8) + '\u2026' : '');
    switch (ev.type) {
      case 'login': return [who, ' logged in', ev.address ? ' (' + ev.address.ip6Compact + ')' : ''];
      case 'add': return [who, ' shared ', { b: file }, ' \u00B7 ' + plural(ev.parts, 'part') + ', ' + fmtBytes(ev.fileLength)];
      case 'part': return [who, ' got part ' + ev.part + ' of ', { b: file }, ' \u00B7 holds ' + fmtInt(ev.partsHeld)];
      case 'logout': return [who, ' logged out \u00B7 held ' + plural(ev.partsOwned, 'part')];
      case 'logout-refused': return [who, ' logout refused: sole holder of some parts \u00B7 ' + plural(ev.partsDown, 'part') + ' already elsewhere'];
      default: return [who, ' ' + ev.type];
    }
  }
  function eventItem(ev) {
    var li = el('li', 'ev ' + (BADGE[ev.type] || '')); li.dataset.type = ev.type; li.dataset.seq = ev.seq;
    li.append(el('time', 'mono muted', clock(ev.at)), el('span', 'badge', BADGE[ev.type] || ev.type));
    var text = el('span', 'what');
    describe(ev).forEach(function (part) { if (typeof part === 'string') text.append(part); else { var b = el('b', null, part.b); b.title = ev.md5 || ''; text.append(b); } });
    li.append(text);
    return li;
  }
  function visibleEvents() {
    var out = [];
    Object.keys(kinds).forEach(function (k) { if (filter[k]) out = out.concat(kinds[k]); });
    out.sort(function (a, b) { return b.seq - a.seq; });
    return out.slice(0, MAX_FEED);
  }
  function renderFeed(all) {
    var feed = $('feed'), list = visibleEvents();
    var top = all ? 0 : Number((feed.firstChild && feed.firstChild.dataset.seq) || 0);
    if (all) feed.textContent = '';
    var frag = document.createDocumentFragment();
    list.forEach(function (ev) { if (ev.seq > top) frag.appendChild(eventItem(ev)); });
    feed.insertBefore(frag, feed.firstChild);
    while (feed.children.length > MAX_FEED) feed.removeChild(feed.lastChild);
    $('feed-empty').hidden = feed.children.length > 0;
    setText($('feed-note'), skipped > 0 && filter.part ? 'part reports sampled: ' + fmtInt(skipped) + ' in the last push not listed' : '');
  }

  /* ---------- one render per frame: read widths first, then write ---------- */
  function render() {
    frameQueued = false;
    if (!palette) loadPalette();
    var chartW = widthOf($('chart-throughput').parentNode, 600), peerW = widthOf($('peer-chart').parentNode, 600);
    if (dirty.totals && totals) {
      setText($('stat-peers'), fmtInt(totals.peers), true); setText($('stat-files'), fmtInt(totals.files), true);
      setText($('stat-parts'), fmtInt(totals.fileParts), true); setText($('stat-owned'), fmtInt(totals.partsRegistered));
    }
    if (dirty.filesAll) {
      var body = $('files-body'), cursor = body.firstChild, list = [];
      files.forEach(function (e) { list.push(e); });
      list.sort(function (a, b) { return a.data.fileName < b.data.fileName ? -1 : a.data.fileName > b.data.fileName ? 1 : 0; });
      list.forEach(function (e, i) {
        [e.row, e.detail].forEach(function (node) { if (cursor === node) cursor = cursor.nextSibling; else body.insertBefore(node, cursor); });
        if (!e.toggled && i < AUTO_OPEN) setOpen(e, true);
      });
      $('files-empty').hidden = files.size > 0;
    }
    var flashFiles = dirty.files.size <= FLASH_MAX;
    dirty.files.forEach(function (md5) { var e = files.get(md5); if (e) { renderFileRow(e, flashFiles); maybeFetch(e, false); } });
    if (dirty.peersAll) {
      $('peers-empty').hidden = peers.size > 0;
      setText($('peers-count'), peers.size ? '(' + fmtInt(peers.size) + ')' : '');
    }
    if (dirty.peersAll || dirty.peerWindow || dirty.peers.size) renderPeers(dirty.peersAll, dirty.peers.size <= FLASH_MAX);
    document.body.classList.toggle('has-last-seen', anyLastSeen);
    if (dirty.peers.size || dirty.peersAll || dirty.peerChart) peerChart(peerW);
    if (dirty.charts) renderCharts(chartW);
    // A card just opened has no size yet: draw it in this frame at the size it will have (the table's, less the
    // cell's and the card's padding and border); its ResizeObserver redraws it if that was off.
    var cardW = widthOf($('files'), 0) - 46;
    dirty.details.forEach(function (md5) { var e = files.get(md5), w = e && widths.get(e.card) > 0 ? widths.get(e.card) : cardW; if (e && e.open && w > 0) renderDetail(e, Math.max(100, w)); });
    if (dirty.feed || dirty.feedAll) renderFeed(dirty.feedAll);
    if (oldestPending !== null) {
      lagMs = Math.max(0, Date.now() - oldestPending - (isFinite(offset) ? offset : 0));
      oldestPending = null;
      showStatus();
    }
    setData('seq', lastSeq); setData('pushes', pushes); setData('lagMs', Math.round(lagMs));
    dirty.totals = dirty.filesAll = dirty.peersAll = dirty.peerWindow = dirty.peerChart = dirty.feed = dirty.feedAll = dirty.charts = false;
    dirty.files.clear(); dirty.peers.clear(); dirty.details.clear();
  }

  function setData(key, v) { v = String(v); if (document.body.dataset[key] !== v) document.body.dataset[key] = v; }

  /* ---------- status: live, or honestly behind ---------- */
  function status(state, text) { var s = $('status'); if (s.dataset.state !== state) s.dataset.state = state; setText($('status-text'), text); }
  function showStatus() {
    var quiet = Date.now() - lastMsgAt;
    if (lagMs > 1500) status('behind', 'behind by ' + Math.round(lagMs / 1000) + ' s');
    else if (quiet > 5000 && lastMsgAt) status('behind', 'no update for ' + Math.round(quiet / 1000) + ' s');
    else status('live', 'live');
  }

  /* ---------- tooltips ---------- */
  function tooltip(canvas, describeAt) {
    var tip = $('tooltip');
    canvas.addEventListener('mousemove', function (ev) {
      var text = describeAt(canvas, ev.offsetX, ev.offsetY);
      if (!text) { tip.hidden = true; return; }
      tip.textContent = text; tip.hidden = false;
      tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 420) + 'px';
      tip.style.top = (ev.clientY + 14) + 'px';
    });
    canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
  }

  /* ---------- stream ---------- */
  function onMessage(kind, m) {
    var d;
    try { d = JSON.parse(m.data); } catch (err) { status('down', 'bad update: ' + err.message); return; }
    pushes++;
    lastMsgAt = Date.now();
    noteClock(d.at);
    if (kind === 'state') applyState(d); else applyDelta(d);
    var oldest = kind === 'delta' && d.oldest !== null ? d.oldest : d.at;
    if (oldestPending === null || oldest < oldestPending) oldestPending = oldest;
    queue();
  }
  function connect() {
    if (!window.EventSource) { status('down', 'this browser has no EventSource'); return; }
    var es = new EventSource('/api/stream');
    es.addEventListener('state', function (m) { onMessage('state', m); });
    es.addEventListener('delta', function (m) { onMessage('delta', m); });
    es.onerror = function () {
      status(es.readyState === 2 ? 'down' : 'retry', es.readyState === 2 ? 'disconnected' : 'reconnecting\u2026');
      if (es.readyState === 2) setTimeout(connect, 3000);
    };
  }

  document.addEventListener('DOMContentLoaded', function () {
    loadPalette();
    ['chart-throughput', 'chart-completion'].forEach(function (id) { watchSize($(id).parentNode, function (w, h, changedW) { if (changedW) dirty.charts = true; }); });
    watchSize($('peer-chart').parentNode, function (w, h, changedW) { if (changedW) dirty.peerChart = true; });
    watchSize($('files'), function (w, h, changedW) { if (changedW) files.forEach(function (e, md5) { if (e.open) dirty.details.add(md5); }); });
    var box = $('peers-scroll');
    watchSize(box, function (w, h) { if (h > 0) { peerView.height = h; dirty.peerWindow = true; } });
    // A scroll event comes before the frame's render, with layout clean: reading scrollTop here forces nothing.
    box.addEventListener('scroll', function () { peerView.top = box.scrollTop; dirty.peerWindow = true; queue(); }, { passive: true });
    tooltip($('chart-throughput'), C.linesTip); tooltip($('chart-completion'), C.linesTip); tooltip($('peer-chart'), C.peersTip);
    document.querySelectorAll('#feed-filter input').forEach(function (box) {
      box.addEventListener('change', function () { filter[box.value] = box.checked; dirty.feedAll = true; queue(); });
    });
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', function () {
      loadPalette(); dirty.charts = dirty.peerChart = true; files.forEach(function (e, md5) { dirty.details.add(md5); }); queue();
    });
    setInterval(function () {
      files.forEach(function (e) { maybeFetch(e, false); });
      if (lastMsgAt) showStatus();
    }, 1000);
    setInterval(function () { peers.forEach(function (e, n) { dirty.peers.add(n); }); queue(); }, 10000);
    connect();
  });
})();
`;
