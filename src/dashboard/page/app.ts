/**
 * The dashboard script, plain browser JS with no framework and no build step.
 * State arrives by server-sent events from /api/stream; heat maps and bitmap
 * rows are drawn on canvases. It is embedded as a string so that it ships in
 * dist (tsc copies no other files): keep it free of backticks and dollar-brace,
 * since it lives in a String.raw literal. test/dashboard checks that it parses.
 */
export const APP_JS = String.raw`/* BugTorrent tracker dashboard: plain JS, no framework. State arrives by
   server-sent events (/api/stream); heat maps and bitmaps are drawn on canvases. */
'use strict';
(function () {
  var MAX_FEED = 150;
  var AUTO_OPEN = 3;
  var files = new Map();      // md5 -> { data, row, detail, heat, rows, legend, open, holders, counts }
  var peers = new Map();      // peerId -> { data, row }
  var labels = new Map();     // peerId -> 'ip:port', kept after logout for the feed
  var fileNames = new Map();  // md5 -> name
  var userToggled = new Set();
  var lastSeq = 0;
  var pushes = 0;
  var lastPushAt = 0;
  var drawQueued = false;
  var fetching = new Map();   // md5 -> 'busy' | 'again'
  var palette = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setText(node, text, flash) {
    text = String(text);
    if (node.textContent === text) return;
    node.textContent = text;
    if (flash) {
      node.classList.remove('bump');
      void node.offsetWidth;
      node.classList.add('bump');
    }
  }
  function fmtBytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + ' ' + units[i];
  }
  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
  function pad2(n) { return n < 10 ? '0' + n : String(n); }
  function clock(ms) {
    var d = new Date(ms);
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  }
  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  function plural(n, one, many) { return fmtInt(n) + ' ' + (n === 1 ? one : (many || one + 's')); }
  function peerText(p) { return p.address.ip4 + ':' + p.port; }

  /* ---------- colours, read from CSS so light and dark themes both work ---------- */
  function rgbOf(css) {
    var c = document.createElement('canvas');
    c.width = c.height = 1;
    var g = c.getContext('2d');
    g.fillStyle = css;
    g.fillRect(0, 0, 1, 1);
    var d = g.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2]];
  }
  function loadPalette() {
    var cs = getComputedStyle(document.documentElement);
    function v(name) { return cs.getPropertyValue(name).trim(); }
    palette = {
      dark: window.matchMedia('(prefers-color-scheme: dark)').matches,
      text: v('--text'), muted: v('--muted'), panel: v('--panel'),
      held: rgbOf(v('--held')), track: rgbOf(v('--track')), panelRgb: rgbOf(v('--panel')),
      missing: v('--missing'),
      rare: rgbOf(v('--heat-rare')), mid: rgbOf(v('--heat-mid')), common: rgbOf(v('--heat-common'))
    };
  }
  /* Availability colour: no holder is red; one holder is a hot orange; the more
     holders a part has, the closer it fades to a quiet blue, so rare parts stand out. */
  function mix(a, b, t) {
    return 'rgb(' + Math.round(a[0] + (b[0] - a[0]) * t) + ',' + Math.round(a[1] + (b[1] - a[1]) * t) + ',' + Math.round(a[2] + (b[2] - a[2]) * t) + ')';
  }
  function heatColor(count, max) {
    if (count <= 0) return palette.missing;
    var t = max <= 1 ? 1 : (count - 1) / (max - 1);
    return t < 0.5 ? mix(palette.rare, palette.mid, t * 2) : mix(palette.mid, palette.common, t * 2 - 1);
  }

  /* ---------- status ---------- */
  function status(state, text) {
    var s = $('status');
    s.dataset.state = state;
    setText($('status-text'), text);
  }

  /* ---------- files ---------- */
  function fileEntry(f) {
    var e = files.get(f.md5);
    if (e) return e;
    var row = el('tr', 'file');
    row.dataset.md5 = f.md5;
    row.tabIndex = 0;
    var name = el('td', 'name');
    var caret = el('span', 'caret', '\u25B8');
    var nameText = el('span', 'fname');
    name.append(caret, nameText);
    var md5 = el('td', 'md5 mono', f.md5);
    md5.title = f.md5;
    row.append(name, md5, el('td', 'num size'), el('td', 'num parts'), el('td', 'num holders'), el('td', 'num copies'));
    var detail = el('tr', 'detail');
    detail.hidden = true;
    var cell = el('td');
    cell.colSpan = 6;
    var card = el('div', 'card');
    var h1 = el('div', 'card-head');
    h1.append(el('h3', null, 'Part availability'), el('span', 'legend-note muted'));
    var heat = el('canvas', 'heat');
    var legend = el('div', 'legend');
    var h2 = el('div', 'card-head');
    h2.append(el('h3', null, 'Who holds what'), el('span', 'rows-note muted'));
    var rows = el('canvas', 'rows');
    var rowsBox = el('div', 'rows-box');
    rowsBox.append(rows);
    card.append(h1, heat, legend, h2, rowsBox);
    cell.append(card);
    detail.append(cell);
    e = { data: f, row: row, detail: detail, heat: heat, rows: rows, legend: legend, card: card, open: false, holders: null, counts: null };
    function toggle() {
      userToggled.add(f.md5);
      setOpen(e, !e.open);
    }
    row.addEventListener('click', toggle);
    row.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(); } });
    attachTooltip(heat, heatTip);
    attachTooltip(rows, rowsTip);
    files.set(f.md5, e);
    return e;
  }
  function setOpen(e, open) {
    if (e.open === open) return;
    e.open = open;
    e.row.classList.toggle('open', open);
    e.detail.hidden = !open;
    if (open) fetchHolders(e.data.md5);
  }
  function renderFiles(list, changed) {
    var body = $('files-body');
    var seen = new Set();
    list.forEach(function (f, i) {
      seen.add(f.md5);
      fileNames.set(f.md5, f.fileName);
      var e = fileEntry(f);
      var before = e.data;
      e.data = f;
      var c = e.row.children;
      setText(c[0].lastChild, f.fileName, false);
      c[0].title = f.fileName;
      setText(c[2], fmtBytes(f.fileLength), false);
      c[2].title = fmtInt(f.fileLength) + ' bytes, parts of ' + fmtBytes(f.partLength);
      setText(c[3], fmtInt(f.parts), before !== f);
      setText(c[4], fmtInt(f.holders), before !== f);
      setText(c[5], fmtInt(f.completeCopies), before !== f);
      c[5].classList.toggle('bad', f.completeCopies === 0);
      if (!userToggled.has(f.md5) && !e.open && i < AUTO_OPEN) setOpen(e, true);
      else if (e.open && (changed === 'all' || changed.indexOf(f.md5) >= 0)) fetchHolders(f.md5);
    });
    files.forEach(function (e, md5) {
      if (seen.has(md5)) return;
      e.row.remove();
      e.detail.remove();
      files.delete(md5);
    });
    // Keep the DOM order equal to the list order, moving only what is out of place.
    var cursor = body.firstChild;
    list.forEach(function (f) {
      var e = files.get(f.md5);
      [e.row, e.detail].forEach(function (node) {
        if (cursor === node) cursor = cursor.nextSibling;
        else body.insertBefore(node, cursor);
      });
    });
    $('files-empty').hidden = list.length > 0;
  }

  function fetchHolders(md5) {
    var state = fetching.get(md5);
    if (state) { fetching.set(md5, 'again'); return; }
    fetching.set(md5, 'busy');
    fetch('/api/files/' + md5 + '/holders?encoding=base64', { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        var e = files.get(md5);
        if (!e || !body) return;
        e.holders = body.holders.map(function (h) {
          var bin = atob(h.bitmap);
          var bm = new Uint8Array(bin.length);
          for (var i = 0; i < bin.length; i++) bm[i] = bin.charCodeAt(i);
          return { label: peerText(h), peerId: h.peerId, held: h.partsHeld, bm: bm };
        });
        e.parts = body.parts;
        var counts = new Uint32Array(body.parts);
        e.holders.forEach(function (h) {
          for (var p = 0; p < body.parts; p++) if ((h.bm[p >> 3] >> (7 - (p & 7))) & 1) counts[p]++;
        });
        e.counts = counts;
        queueDraw();
      })
      .catch(function () { /* the next push retries */ })
      .then(function () {
        var again = fetching.get(md5) === 'again';
        fetching.delete(md5);
        if (again) fetchHolders(md5);
      });
  }

  /* ---------- canvases ---------- */
  function queueDraw() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(function () {
      drawQueued = false;
      if (!palette) loadPalette();
      files.forEach(function (e) { if (e.open && e.counts) { drawHeat(e); drawRows(e); } });
    });
  }
  function sizeCanvas(canvas, cssW, cssH) {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(cssW * dpr));
    var h = Math.max(1, Math.round(cssH * dpr));
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    canvas.style.height = cssH + 'px';
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    return g;
  }
  function drawHeat(e) {
    var parts = e.counts.length;
    if (parts === 0) {
      sizeCanvas(e.heat, 1, 0);
      e.legend.textContent = 'An empty file: it has no parts.';
      e.legend.dataset.min = e.legend.dataset.max = '0';
      e.heat.layout = null;
      return;
    }
    var W = Math.max(100, e.card.clientWidth - 2);
    var maxH = 180;
    var size = 2, gap = 0, cols = W, bucket = 1;
    for (var s = 18; s >= 2; s--) {
      var gp = s >= 6 ? 2 : s >= 4 ? 1 : 0;
      var c = Math.max(1, Math.floor((W + gp) / (s + gp)));
      if (Math.ceil(parts / c) * (s + gp) <= maxH || s === 2) { size = s; gap = gp; cols = c; break; }
    }
    var cells = parts;
    var maxRows = Math.floor(maxH / (size + gap));
    if (Math.ceil(parts / cols) > maxRows) { bucket = Math.ceil(parts / (cols * maxRows)); cells = Math.ceil(parts / bucket); }
    var rowsN = Math.max(1, Math.ceil(cells / cols));
    var H = rowsN * (size + gap);
    var g = sizeCanvas(e.heat, W, H);
    g.clearRect(0, 0, W, H);
    var max = 0, min = Infinity;
    for (var p = 0; p < parts; p++) { if (e.counts[p] > max) max = e.counts[p]; if (e.counts[p] < min) min = e.counts[p]; }
    var scale = max;
    for (var i = 0; i < cells; i++) {
      var v = Infinity;
      for (var q = i * bucket; q < Math.min(parts, (i + 1) * bucket); q++) if (e.counts[q] < v) v = e.counts[q];
      g.fillStyle = heatColor(v, scale);
      var x = (i % cols) * (size + gap), y = Math.floor(i / cols) * (size + gap);
      if (size >= 8 && g.roundRect) { g.beginPath(); g.roundRect(x, y, size, size, 2); g.fill(); }
      else g.fillRect(x, y, size, size);
    }
    e.heat.layout = { cols: cols, step: size + gap, size: size, bucket: bucket, cells: cells };
    var rare = 0, missing = 0;
    for (var k = 0; k < parts; k++) { if (e.counts[k] === 0) missing++; else if (e.counts[k] === min) rare++; }
    e.legend.textContent = '';
    var scaleEl = el('span', 'scale');
    var steps = Math.min(scale, 6);
    scaleEl.append(swatch(0, scale), el('span', 'muted', '0'));
    for (var st = 1; st <= steps; st++) {
      var n = steps === scale ? st : Math.round(1 + (st - 1) * (scale - 1) / Math.max(1, steps - 1));
      scaleEl.append(swatch(n, scale));
    }
    scaleEl.append(el('span', 'muted', String(scale) + ' holders'));
    var summary = el('span', 'summary');
    summary.textContent = missing > 0
      ? plural(missing, 'part') + ' with no holder'
      : 'rarest: ' + plural(min, 'holder') + ' (' + plural(rare, 'part') + ') \u00B7 most: ' + plural(max, 'holder');
    e.legend.append(scaleEl, summary);
    e.legend.dataset.min = String(parts ? min : 0);
    e.legend.dataset.max = String(max);
    setText(e.card.querySelector('.legend-note'), plural(parts, 'part') + (bucket > 1 ? ', ' + bucket + ' per cell (rarest shown)' : ''));
  }
  function swatch(n, scale) {
    var s = el('i', 'sw');
    s.style.background = heatColor(n, scale);
    s.title = n + (n === 1 ? ' holder' : ' holders');
    return s;
  }
  function drawRows(e) {
    var hs = e.holders || [];
    var parts = e.counts.length;
    var W = Math.max(100, e.card.clientWidth - 2);
    var shown = hs.slice(0, 400);
    var rowH = shown.length <= 24 ? 16 : shown.length <= 60 ? 10 : 3;
    var gutter = rowH >= 9 ? Math.min(230, Math.max(150, Math.round(W * 0.2))) : 0;
    var H = Math.max(rowH, shown.length * rowH);
    var g = sizeCanvas(e.rows, W, H);
    var dpr = window.devicePixelRatio || 1;
    g.clearRect(0, 0, W, H);
    var sx = Math.round(gutter * dpr), sw = e.rows.width - sx, rh = Math.round(rowH * dpr);
    if (sw > 0 && shown.length > 0) {
      var img = g.createImageData(sw, Math.min(e.rows.height, shown.length * rh));
      var d = img.data, held = palette.held, track = palette.track, bg = palette.panelRgb;
      var gapEach = parts * 4 <= sw;
      for (var r = 0; r < shown.length; r++) {
        var bm = shown[r].bm;
        for (var x = 0; x < sw; x++) {
          var p0 = Math.floor(x * parts / sw), p1 = Math.max(p0 + 1, Math.floor((x + 1) * parts / sw));
          var col;
          if (gapEach && Math.floor((x + 1) * parts / sw) !== p0 && x + 1 < sw) col = bg;
          else {
            var n = 0;
            for (var p = p0; p < p1; p++) n += (bm[p >> 3] >> (7 - (p & 7))) & 1;
            var t = n / (p1 - p0);
            col = [track[0] + (held[0] - track[0]) * t, track[1] + (held[1] - track[1]) * t, track[2] + (held[2] - track[2]) * t];
          }
          for (var y = 0; y < rh; y++) {
            if (rh >= 6 && y === rh - 1) { var o0 = ((r * rh + y) * sw + x) * 4; d[o0] = bg[0]; d[o0 + 1] = bg[1]; d[o0 + 2] = bg[2]; d[o0 + 3] = 255; continue; }
            var o = ((r * rh + y) * sw + x) * 4;
            d[o] = col[0]; d[o + 1] = col[1]; d[o + 2] = col[2]; d[o + 3] = 255;
          }
        }
      }
      g.save();
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.putImageData(img, sx, 0);
      g.restore();
    }
    if (gutter) {
      g.font = (rowH >= 14 ? 12 : 10) + 'px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
      g.textBaseline = 'middle';
      for (var i = 0; i < shown.length; i++) {
        var h = shown[i];
        var pct = parts ? Math.round(100 * h.held / parts) : 0;
        g.fillStyle = palette.text;
        g.fillText(h.label, 2, i * rowH + rowH / 2 - 0.5, gutter - 48);
        g.fillStyle = palette.muted;
        g.textAlign = 'right';
        g.fillText(pct + '%', gutter - 8, i * rowH + rowH / 2 - 0.5);
        g.textAlign = 'left';
      }
    }
    e.rows.layout = { gutter: gutter, rowH: rowH, W: W, parts: parts, shown: shown };
    setText(e.card.querySelector('.rows-note'),
      hs.length === 0 ? 'no logged-in holder' : plural(hs.length, 'peer') + (hs.length > shown.length ? ' (first ' + shown.length + ' shown)' : ''));
  }

  /* ---------- tooltips ---------- */
  function attachTooltip(canvas, describe) {
    var tip = $('tooltip');
    canvas.addEventListener('mousemove', function (ev) {
      var r = canvas.getBoundingClientRect();
      var text = describe(canvas, ev.clientX - r.left, ev.clientY - r.top);
      if (!text) { tip.hidden = true; return; }
      tip.textContent = text;
      tip.hidden = false;
      tip.style.left = Math.min(window.innerWidth - tip.offsetWidth - 8, ev.clientX + 12) + 'px';
      tip.style.top = (ev.clientY + 14) + 'px';
    });
    canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
  }
  function entryOf(canvas) {
    var found = null;
    files.forEach(function (e) { if (e.heat === canvas || e.rows === canvas) found = e; });
    return found;
  }
  function heatTip(canvas, x, y) {
    var L = canvas.layout, e = entryOf(canvas);
    if (!L || !e || !e.counts) return '';
    var col = Math.floor(x / L.step), row = Math.floor(y / L.step);
    if (col >= L.cols || x - col * L.step > L.size || y - row * L.step > L.size) return '';
    var cell = row * L.cols + col;
    if (cell >= L.cells) return '';
    var p0 = cell * L.bucket, p1 = Math.min(e.counts.length, p0 + L.bucket);
    var min = Infinity;
    for (var p = p0; p < p1; p++) min = Math.min(min, e.counts[p]);
    return (L.bucket > 1 ? 'parts ' + p0 + '\u2013' + (p1 - 1) + ': rarest has ' : 'part ' + p0 + ': ') + plural(min, 'holder');
  }
  function rowsTip(canvas, x, y) {
    var L = canvas.layout;
    if (!L) return '';
    var r = Math.floor(y / L.rowH);
    var h = L.shown[r];
    if (!h) return '';
    if (x < L.gutter) return h.label + ': ' + plural(h.held, 'part') + ' of ' + fmtInt(L.parts);
    var p = Math.floor((x - L.gutter) * L.parts / (L.W - L.gutter));
    if (p < 0 || p >= L.parts) return '';
    var has = (h.bm[p >> 3] >> (7 - (p & 7))) & 1;
    return h.label + ' \u00B7 part ' + p + (has ? ': held' : ': missing');
  }

  /* ---------- peers ---------- */
  function renderPeers(list) {
    var body = $('peers-body');
    var seen = new Set();
    list.forEach(function (p) {
      seen.add(p.peerId);
      labels.set(p.peerId, peerText(p));
      var e = peers.get(p.peerId);
      if (!e) {
        var row = el('tr');
        row.dataset.peer = peerText(p);
        var since = el('td', 'since');
        since.append(el('span', 'ago'), el('span', 'at muted'));
        row.append(el('td', 'mono addr', p.address.ip4), el('td', 'mono v6', p.address.ip6Compact), el('td', 'num mono', String(p.port)), since, el('td', 'num held'));
        row.children[1].title = p.address.ip6;
        e = { data: p, row: row };
        peers.set(p.peerId, e);
      }
      var moved = e.data.partsHeld !== p.partsHeld;
      e.data = p;
      setText(e.row.children[4], fmtInt(p.partsHeld), moved);
      setText(e.row.children[3].firstChild, ago(p.since));
      setText(e.row.children[3].lastChild, clock(p.since));
      e.row.children[3].title = new Date(p.since).toLocaleString();
    });
    peers.forEach(function (e, id) { if (!seen.has(id)) { e.row.remove(); peers.delete(id); } });
    var cursor = body.firstChild;
    list.forEach(function (p) {
      var row = peers.get(p.peerId).row;
      if (cursor === row) cursor = cursor.nextSibling;
      else body.insertBefore(row, cursor);
    });
    $('peers-empty').hidden = list.length > 0;
    setText($('peers-count'), list.length ? '(' + fmtInt(list.length) + ')' : '');
  }

  /* ---------- feed ---------- */
  var KIND = { login: 'login', add: 'add', part: 'part', logout: 'logout', 'logout-refused': 'refused' };
  function describe(ev) {
    var who = ev.peer || labels.get(ev.peerId) || 'peer ' + ev.peerId;
    var file = ev.fileName || fileNames.get(ev.md5) || (ev.md5 ? ev.md5.slice(0, 8) + '\u2026' : '');
    switch (ev.type) {
      case 'login': return [who, ' logged in', ev.address ? ' (' + ev.address.ip6Compact + ')' : ''];
      case 'add': return [who, ' shared ', { b: file }, ' \u00B7 ' + plural(ev.parts, 'part') + ', ' + fmtBytes(ev.fileLength)];
      case 'part': return [who, ' got part ' + ev.part + ' of ', { b: file }, ' \u00B7 holds ' + fmtInt(ev.partsHeld)];
      case 'logout': return [who, ' logged out \u00B7 held ' + plural(ev.partsOwned, 'part')];
      case 'logout-refused': return [who, ' logout refused: sole holder of some parts \u00B7 ' + plural(ev.partsDown, 'part') + ' already elsewhere'];
      default: return [who, ' ' + ev.type];
    }
  }
  function renderEvents(list) {
    var feed = $('feed');
    var frag = document.createDocumentFragment();
    var fresh = list.filter(function (ev) { return ev.seq > lastSeq; });
    if (fresh.length === 0) return;
    lastSeq = fresh[fresh.length - 1].seq;
    fresh.slice(-MAX_FEED).reverse().forEach(function (ev) {
      var li = el('li', 'ev ' + (KIND[ev.type] || ''));
      li.dataset.type = ev.type;
      li.append(el('time', 'mono muted', clock(ev.at)), el('span', 'badge', KIND[ev.type] || ev.type));
      var text = el('span', 'what');
      describe(ev).forEach(function (part) {
        if (typeof part === 'string') text.append(part);
        else { var b = el('b', null, part.b); b.title = ev.md5 || ''; text.append(b); }
      });
      li.append(text);
      frag.appendChild(li);
    });
    feed.insertBefore(frag, feed.firstChild);
    while (feed.children.length > MAX_FEED) feed.removeChild(feed.lastChild);
    $('feed-empty').hidden = true;
  }

  /* ---------- stream ---------- */
  function apply(s) {
    pushes++;
    lastPushAt = Date.now();
    setText($('stat-peers'), fmtInt(s.totals.peers), true);
    setText($('stat-files'), fmtInt(s.totals.files), true);
    setText($('stat-parts'), fmtInt(s.totals.fileParts), true);
    setText($('stat-owned'), fmtInt(s.totals.partsRegistered), true);
    renderPeers(s.peers);
    renderFiles(s.files, s.changed);
    renderEvents(s.events);
    status('live', 'live \u00B7 updated ' + clock(s.at));
    document.body.dataset.seq = String(s.seq);
    document.body.dataset.pushes = String(pushes);
  }
  function connect() {
    if (!window.EventSource) { status('down', 'this browser has no EventSource'); return; }
    var es = new EventSource('/api/stream');
    es.addEventListener('state', function (m) {
      try { apply(JSON.parse(m.data)); } catch (err) { status('down', 'bad update: ' + err.message); }
    });
    es.onopen = function () { status('live', 'live'); };
    es.onerror = function () {
      status(es.readyState === 2 ? 'down' : 'retry', es.readyState === 2 ? 'disconnected' : 'reconnecting\u2026');
      if (es.readyState === 2) setTimeout(connect, 3000);
    };
  }

  document.addEventListener('DOMContentLoaded', function () {
    loadPalette();
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', function () { loadPalette(); queueDraw(); });
    window.addEventListener('resize', queueDraw);
    setInterval(function () {
      peers.forEach(function (e) { setText(e.row.children[3].firstChild, ago(e.data.since)); });
      if (lastPushAt && $('status').dataset.state === 'live') setText($('status-text'), 'live \u00B7 updated ' + ago(lastPushAt));
    }, 10000);
    connect();
  });
})();
`;
