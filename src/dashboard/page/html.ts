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
<script src="/charts.js" defer></script>
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
  <div class="columns even">
    <section class="panel" id="throughput-section">
      <h2>Swarm throughput <span class="muted hint">parts reported per second × part size</span><span class="right" id="throughput-now"></span></h2>
      <div class="chart-box"><canvas id="chart-throughput" class="chart"></canvas></div>
      <div class="keys" id="legend-throughput"></div>
    </section>
    <section class="panel" id="completion-section">
      <h2>Completion <span class="muted hint">holders with a full copy, per file</span></h2>
      <div class="chart-box"><canvas id="chart-completion" class="chart"></canvas></div>
      <div class="keys" id="legend-completion"></div>
    </section>
  </div>
  <section class="panel" id="files-section">
    <h2>Files <span class="muted hint">click a file to show or hide its parts</span></h2>
    <div class="scroll">
      <table id="files">
        <thead><tr><th>Name</th><th>MD5</th><th class="num">Size</th><th class="num">Parts</th><th class="num">Holders</th><th class="num" title="holders with every part">Full</th><th class="num" title="for each part, how many holders have it: the smallest of these">Complete copies</th></tr></thead>
        <tbody id="files-body"></tbody>
      </table>
    </div>
    <p class="empty muted" id="files-empty">No file shared yet.</p>
  </section>
  <div class="columns">
    <section class="panel" id="peers-section">
      <h2>Peers <span class="muted" id="peers-count"></span></h2>
      <div class="chart-box"><canvas id="peer-chart" class="peer-chart"></canvas></div>
      <p class="muted note" id="served-note">Each column is a peer, sorted by progress (its parts over the parts of the files it holds).
        <b>Served</b> is an estimate: the tracker never sees a transfer. When a peer reports a part, the peers that the tracker
        listed as holding that part just before share the credit equally. Parts got from peers that never reported them count for nobody.</p>
      <div class="scroll tall" id="peers-scroll">
        <table id="peers">
          <thead><tr><th>IPv4</th><th>IPv6</th><th class="num">Port</th><th>Logged in</th><th class="num">Progress</th><th class="num">Parts held</th><th class="num">Served ≈</th><th class="seen">Last seen</th></tr></thead>
          <tbody id="peers-body"></tbody>
        </table>
      </div>
      <p class="empty muted" id="peers-empty">No peer logged in.</p>
    </section>
    <section class="panel" id="feed-section">
      <h2>Recent events <span class="muted hint" id="feed-note"></span></h2>
      <div id="feed-filter" class="filter" role="group" aria-label="show events">
        <label><input type="checkbox" value="login" checked> logins</label>
        <label><input type="checkbox" value="add" checked> files</label>
        <label><input type="checkbox" value="part" checked> parts</label>
        <label><input type="checkbox" value="logout" checked> logouts</label>
      </div>
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
