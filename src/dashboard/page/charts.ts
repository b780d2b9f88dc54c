/**
 * The dashboard's canvas drawing (served as /charts.js, before /app.js): line
 * charts over time, the per-peer progress and served chart, the heat map and
 * the grouped "who holds what". Each draw is O(pixels or points), never O(DOM
 * nodes), and reads no layout: callers pass the CSS width they measured once
 * per frame. Same rules as app.ts: a String.raw literal, so no backticks and
 * no dollar-brace inside.
 */
export const CHARTS_JS = String.raw`'use strict';
window.BTCharts = (function () {
  var COLORS = ['#2f7fd8', '#e8833a', '#3aa675', '#a35bd6', '#d64545', '#c9a227', '#1aa3b8', '#7b8794'];

  function size(canvas, cssW, cssH) {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(cssW * dpr)), h = Math.max(1, Math.round(cssH * dpr));
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    var px = cssH + 'px';
    if (canvas.style.height !== px) canvas.style.height = px;
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    return g;
  }

  function placeholder(canvas, cssW, cssH, pal, text) {
    var g = size(canvas, cssW, cssH);
    g.fillStyle = pal.muted;
    g.font = '12px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(text, cssW / 2, cssH / 2);
    g.textAlign = 'left';
  }

  /* A "nice" axis maximum: 1, 2 or 5 times a power of ten, at or above v. */
  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  /* series: [{ label, color, values: Float64Array|number[] (NaN: unknown) }], one value per slot; slot i is at t0 + i * step. */
  function lines(canvas, cssW, cssH, pal, spec) {
    var n = spec.slots;
    var max = 0;
    spec.series.forEach(function (s) { for (var i = 0; i < n; i++) if (s.values[i] > max) max = s.values[i]; });
    var top = niceMax(max * 1.05);
    var left = 58, right = 8, topPad = 8, bottom = 18;
    var g = size(canvas, cssW, cssH);
    var W = cssW - left - right, H = cssH - topPad - bottom;
    g.font = '11px system-ui, sans-serif';
    g.strokeStyle = pal.grid;
    g.fillStyle = pal.muted;
    g.lineWidth = 1;
    g.textBaseline = 'middle';
    g.textAlign = 'right';
    for (var k = 0; k <= 4; k++) {
      var y = Math.round(topPad + H - (H * k) / 4) + 0.5;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + W, y); g.stroke();
      g.fillText(spec.format(top * k / 4), left - 6, y);
    }
    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
    g.fillText(spec.startLabel, left, cssH - 4);
    g.textAlign = 'right';
    g.fillText('now', left + W, cssH - 4);
    g.textAlign = 'left';
    spec.series.forEach(function (s) {
      g.strokeStyle = s.color;
      g.lineWidth = s.width || 1.5;
      g.beginPath();
      var pen = false;
      for (var i = 0; i < n; i++) {
        var v = s.values[i];
        if (!(v >= 0)) { pen = false; continue; }
        var x = left + (n <= 1 ? W : (W * i) / (n - 1)), y = topPad + H - (H * v) / top;
        if (pen) g.lineTo(x, y); else { g.moveTo(x, y); pen = true; }
      }
      g.stroke();
    });
    canvas.layout = { left: left, W: W, slots: n, series: spec.series, format: spec.format, slotTime: spec.slotTime };
  }

  function linesTip(canvas, x) {
    var L = canvas.layout;
    if (!L || !L.slots) return '';
    var i = Math.round(((x - L.left) / Math.max(1, L.W)) * (L.slots - 1));
    if (i < 0 || i >= L.slots) return '';
    var parts = [L.slotTime(i)];
    L.series.forEach(function (s) { var v = s.values[i]; if (v >= 0) parts.push(s.label + ': ' + L.format(v)); });
    return parts.join(' \u00B7 ');
  }

  /* Peers as columns, sorted by progress: progress bars up from the middle, served bars down. */
  function peers(canvas, cssW, cssH, pal, list, fmtServed) {
    var g = size(canvas, cssW, cssH);
    var n = list.length;
    var mid = Math.round(cssH * 0.58);
    g.fillStyle = pal.grid;
    g.fillRect(0, mid, cssW, 1);
    if (n === 0) return;
    var maxServed = 0;
    for (var i = 0; i < n; i++) if (list[i].served > maxServed) maxServed = list[i].served;
    var per = Math.max(1, Math.ceil(n / cssW));
    var cols = Math.ceil(n / per);
    var cw = cssW / cols;
    var gap = cw >= 4 ? 1 : 0;
    for (var c = 0; c < cols; c++) {
      var a = c * per, b = Math.min(n, a + per), prog = 0, served = 0;
      for (var j = a; j < b; j++) { prog += list[j].progress; served = Math.max(served, list[j].served); }
      prog /= (b - a);
      var x = c * cw;
      g.fillStyle = pal.heldCss;
      var hp = (mid - 14) * prog;
      g.fillRect(x, mid - hp, Math.max(1, cw - gap), hp);
      if (maxServed > 0 && served > 0) {
        g.fillStyle = pal.served;
        g.fillRect(x, mid + 2, Math.max(1, cw - gap), Math.max(1, (cssH - mid - 4) * served / maxServed));
      }
    }
    g.fillStyle = pal.muted;
    g.font = '11px system-ui, sans-serif';
    g.fillText('progress', 2, 11);
    g.fillText('served \u2248 (max ' + fmtServed(maxServed) + ')', 2, cssH - 4);
    canvas.layout = { per: per, cw: cw, list: list };
  }

  function peersTip(canvas, x) {
    var L = canvas.layout;
    if (!L) return '';
    var c = Math.floor(x / L.cw), a = c * L.per;
    var slice = L.list.slice(a, a + L.per);
    if (!slice.length) return '';
    return slice.map(function (p) { return p.tip; }).join('  |  ');
  }

  /* Availability colour: no holder is red; one holder hot orange; the more holders, the quieter (blue). */
  function mix(a, b, t) {
    return 'rgb(' + Math.round(a[0] + (b[0] - a[0]) * t) + ',' + Math.round(a[1] + (b[1] - a[1]) * t) + ',' + Math.round(a[2] + (b[2] - a[2]) * t) + ')';
  }
  function heatColor(pal, count, max) {
    if (count <= 0) return pal.missing;
    var t = max <= 1 ? 1 : (count - 1) / (max - 1);
    return t < 0.5 ? mix(pal.rare, pal.mid, t * 2) : mix(pal.mid, pal.common, t * 2 - 1);
  }

  /* The heat map's geometry for cellsIn cells in cssW px: also what a placeholder needs to have the final
     height (resizing a canvas reallocates it, the dearest step of drawing one). */
  function heatLayout(cssW, cellsIn) {
    var maxH = 180, sz = 2, gap = 0, cols = cssW, merge = 1;
    for (var s = 18; s >= 2; s--) {
      var gp = s >= 6 ? 2 : s >= 4 ? 1 : 0;
      var c = Math.max(1, Math.floor((cssW + gp) / (s + gp)));
      if (Math.ceil(cellsIn / c) * (s + gp) <= maxH || s === 2) { sz = s; gap = gp; cols = c; break; }
    }
    var maxRows = Math.floor(maxH / (sz + gap));
    var cells = cellsIn;
    if (Math.ceil(cellsIn / cols) > maxRows) { merge = Math.ceil(cellsIn / (cols * maxRows)); cells = Math.ceil(cellsIn / merge); }
    return { sz: sz, gap: gap, cols: cols, merge: merge, cells: cells, H: Math.max(1, Math.ceil(cells / cols)) * (sz + gap) };
  }
  function heatHeight(cssW, cellsIn) { return heatLayout(cssW, cellsIn).H; }
  /* counts: holders per cell of "bucket" parts (rarest). Returns the layout for tooltips. */
  function heat(canvas, cssW, pal, counts, bucket) {
    var cellsIn = counts.length, L = heatLayout(cssW, cellsIn);
    var sz = L.sz, gap = L.gap, cols = L.cols, merge = L.merge, cells = L.cells;
    var g = size(canvas, cssW, L.H);
    var max = 0;
    for (var p = 0; p < cellsIn; p++) if (counts[p] > max) max = counts[p];
    var colors = [];
    for (var i = 0; i < cells; i++) {
      var v = Infinity;
      for (var q = i * merge; q < Math.min(cellsIn, (i + 1) * merge); q++) if (counts[q] < v) v = counts[q];
      g.fillStyle = colors[v] || (colors[v] = heatColor(pal, v, max));
      g.fillRect((i % cols) * (sz + gap), Math.floor(i / cols) * (sz + gap), sz, sz);
    }
    canvas.layout = { cols: cols, step: sz + gap, size: sz, merge: merge, bucket: bucket, cells: cells, counts: counts };
    return max;
  }

  function heatTip(canvas, x, y) {
    var L = canvas.layout;
    if (!L) return '';
    var col = Math.floor(x / L.step), row = Math.floor(y / L.step);
    if (col >= L.cols || x - col * L.step > L.size || y - row * L.step > L.size) return '';
    var cell = row * L.cols + col;
    if (cell >= L.cells) return '';
    var per = L.merge * L.bucket, c0 = cell * L.merge, min = Infinity;
    for (var k = c0; k < Math.min(L.counts.length, c0 + L.merge); k++) min = Math.min(min, L.counts[k]);
    var p0 = cell * per;
    return (per > 1 ? 'parts ' + p0 + '\u2013' + (p0 + per - 1) + ': rarest has ' : 'part ' + p0 + ': ') + min + (min === 1 ? ' holder' : ' holders');
  }

  /* Groups of holders (sorted by parts held), each a row of cells 0..255. */
  function groups(canvas, cssW, pal, summary, labelOf) {
    var gs = summary.groups;
    var rowH = gs.length <= 24 ? 16 : 10;
    var gutter = Math.min(260, Math.max(160, Math.round(cssW * 0.22)));
    var H = Math.max(rowH, gs.length * rowH);
    var g = size(canvas, cssW, H);
    var W = cssW - gutter;
    var held = pal.held, track = pal.track, cols = summary.cols;
    // One pixel per cell in an image of cols × groups, scaled up row by row: a few drawImage calls instead of
    // one fillRect (and one colour string) per cell, thousands of them.
    var img = new ImageData(cols, Math.max(1, gs.length)), px = img.data;
    for (var r0 = 0; r0 < gs.length; r0++) {
      var bytes = gs[r0].bytes;
      for (var x = 0; x < cols; x++) {
        var t = bytes[x] / 255, o = 4 * (r0 * cols + x);
        px[o] = track[0] + (held[0] - track[0]) * t; px[o + 1] = track[1] + (held[1] - track[1]) * t; px[o + 2] = track[2] + (held[2] - track[2]) * t; px[o + 3] = 255;
      }
    }
    var off = document.createElement('canvas'); off.width = cols; off.height = Math.max(1, gs.length);
    off.getContext('2d').putImageData(img, 0, 0);
    g.imageSmoothingEnabled = false;
    for (var r = 0; r < gs.length; r++) {
      var y = r * rowH;
      g.drawImage(off, 0, r, cols, 1, gutter, y, W, rowH - 2);
      g.fillStyle = pal.text;
      g.font = (rowH >= 14 ? 12 : 10) + 'px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
      g.textBaseline = 'middle';
      g.fillText(labelOf(gs[r]), 2, y + rowH / 2 - 1, gutter - 8);
    }
    canvas.layout = { rowH: rowH, gutter: gutter, W: W, cols: summary.cols, parts: summary.parts, groups: gs };
  }

  function groupsTip(canvas, x, y) {
    var L = canvas.layout;
    if (!L) return '';
    var grp = L.groups[Math.floor(y / L.rowH)];
    if (!grp) return '';
    var who = grp.peers.length <= 8 ? grp.peers.join(', ') : grp.peers.slice(0, 8).join(', ') + ' and ' + (grp.peers.length - 8) + ' more';
    if (x < L.gutter) return who + ' \u00B7 ' + grp.held[0] + (grp.held[1] !== grp.held[0] ? '\u2013' + grp.held[1] : '') + ' of ' + L.parts + ' parts';
    var c = Math.floor((x - L.gutter) / (L.W / L.cols));
    if (c < 0 || c >= L.cols) return '';
    var p0 = Math.floor(c * L.parts / L.cols), p1 = Math.max(p0 + 1, Math.floor((c + 1) * L.parts / L.cols));
    return who + ' \u00B7 parts ' + p0 + (p1 - 1 > p0 ? '\u2013' + (p1 - 1) : '') + ': ' + Math.round(100 * grp.bytes[c] / 255) + ' % held';
  }

  return { COLORS: COLORS, size: size, placeholder: placeholder, heatHeight: heatHeight, lines: lines, linesTip: linesTip, peers: peers, peersTip: peersTip,
    heat: heat, heatTip: heatTip, heatColor: heatColor, groups: groups, groupsTip: groupsTip };
})();
`;
