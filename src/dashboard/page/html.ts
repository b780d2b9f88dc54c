/**
 * The dashboard page: one HTML document loading /app.css and /app.js (no inline
 * script or style, so the page can be served with a strict CSP).
 */
export const INDEX_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>BugTorrent tracker</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand">
    <img src="/favicon.svg" alt="" width="28" height="28">
    <div><h1>BugTorrent</h1><div class="muted sub">tracker dashboard</div></div>
  </div>
  <dl class="stats">
    <div><dt>Peers</dt><dd id="stat-peers">–</dd></div>
    <div><dt>Files</dt><dd id="stat-files">–</dd></div>
    <div><dt>Parts</dt><dd id="stat-parts">–</dd></div>
    <div><dt>Parts held</dt><dd id="stat-owned">–</dd></div>
  </dl>
  <div id="status" class="status" data-state="connecting" role="status" aria-live="polite"><span class="dot"></span><span id="status-text">connecting…</span></div>
</header>
<main>
  <section class="panel" id="files-section">
    <h2>Files <span class="muted hint">click a file to show or hide its parts</span></h2>
    <div class="scroll">
      <table id="files">
        <thead><tr><th>Name</th><th>MD5</th><th class="num">Size</th><th class="num">Parts</th><th class="num">Holders</th><th class="num">Complete copies</th></tr></thead>
        <tbody id="files-body"></tbody>
      </table>
    </div>
    <p class="empty muted" id="files-empty">No file shared yet.</p>
  </section>
  <div class="columns">
    <section class="panel" id="peers-section">
      <h2>Peers <span class="muted" id="peers-count"></span></h2>
      <div class="scroll tall">
        <table id="peers">
          <thead><tr><th>IPv4</th><th>IPv6</th><th class="num">Port</th><th>Logged in</th><th class="num">Parts held</th></tr></thead>
          <tbody id="peers-body"></tbody>
        </table>
      </div>
      <p class="empty muted" id="peers-empty">No peer logged in.</p>
    </section>
    <section class="panel" id="feed-section">
      <h2>Recent events</h2>
      <ol id="feed" class="scroll tall"></ol>
      <p class="empty muted" id="feed-empty">Nothing happened yet.</p>
    </section>
  </div>
</main>
<footer class="muted">JSON API under <a href="/api">/api</a> · Prometheus metrics at <a href="/metrics">/metrics</a></footer>
<div id="tooltip" hidden></div>
</body>
</html>
`;
