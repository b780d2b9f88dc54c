/**
 * The dashboard stylesheet: CSS variables for the light and dark themes; the
 * canvases read their colours from these variables too.
 */
export const APP_CSS = String.raw`:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --panel: #ffffff; --text: #1c2024; --muted: #646a73; --border: #e1e3e8;
  --accent: #0b6bcb; --held: #2f7fd8; --track: #e6e9ee; --missing: #e5484d; --hover: #f0f4fa;
  --login: #1f9d55; --add: #0b6bcb; --part: #7b8794; --logout: #8e4ec6; --refused: #e5484d;
  --heat-rare: #ff6a00; --heat-mid: #f2c14e; --heat-common: #8fb7e8;
  --served: #3aa675; --bump: rgba(255, 184, 0, 0.35); --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #101113; --panel: #18191c; --text: #e9eaec; --muted: #9ba1a9; --border: #2b2e33;
    --accent: #6cb4ff; --held: #3d8fe0; --track: #25282d; --missing: #ff5c63; --hover: #1f2329;
    --login: #3dd68c; --add: #6cb4ff; --part: #8b949e; --logout: #c38cf0; --refused: #ff6b70;
    --heat-rare: #ff7a1a; --heat-mid: #b89a3e; --heat-common: #2f5f96;
    --served: #3dd68c; --bump: rgba(255, 196, 0, 0.28); --shadow: none;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); }
.mono, .md5, time { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
[hidden] { display: none !important; }

.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 24px; flex-wrap: wrap;
  padding: 12px 24px; background: var(--panel); border-bottom: 1px solid var(--border); }
.brand { display: flex; align-items: center; gap: 10px; margin-right: auto; }
.brand h1 { font-size: 18px; margin: 0; letter-spacing: -0.01em; }
.brand .sub { font-size: 12px; }
.stats { display: flex; gap: 8px; margin: 0; }
.stats div { min-width: 84px; padding: 4px 12px; border-left: 1px solid var(--border); }
.stats dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.stats dd { margin: 0; font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; border-radius: 4px; }
.status { display: flex; align-items: center; gap: 8px; font-size: 12.5px; color: var(--muted); min-width: 170px; }
.status .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); }
.status[data-state="live"] .dot { background: var(--login); box-shadow: 0 0 0 3px color-mix(in srgb, var(--login) 25%, transparent); }
.status[data-state="retry"] .dot, .status[data-state="behind"] .dot { background: #f5a524; }
.status[data-state="behind"] { color: var(--text); font-weight: 600; }
.status[data-state="down"] .dot { background: var(--missing); }

main { max-width: 1480px; margin: 0 auto; padding: 20px 24px 8px; display: grid; gap: 20px; }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 14px 16px 12px; box-shadow: var(--shadow); min-width: 0; }
.panel h2 { font-size: 15px; margin: 0 0 10px; display: flex; gap: 8px; align-items: baseline; }
.panel h2 .hint { font-size: 12px; font-weight: 400; }
.columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 20px; }
.columns.even { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.panel h2 .right { margin-left: auto; font-variant-numeric: tabular-nums; }
/* Canvases have their size before any data: no 300x150 default stretched to 600 px, no empty scroll box. */
.chart-box { position: relative; }
canvas.chart { height: 180px; }
canvas.peer-chart { height: 150px; }
canvas.heat { height: 40px; }
canvas.rows { height: 32px; margin-bottom: 4px; }
.keys { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin-top: 6px; min-height: 18px; }
.keys .key { display: inline-flex; align-items: center; gap: 5px; }
.note { font-size: 12px; margin: 6px 0 10px; }
.filter { display: flex; gap: 14px; font-size: 12.5px; margin: -4px 0 8px; }
.filter label { display: inline-flex; gap: 4px; align-items: center; cursor: pointer; }
th.seen, td.seen { display: none; }
body.has-last-seen th.seen, body.has-last-seen td.seen { display: table-cell; }
#peers { table-layout: fixed; }
#peers tr.spacer > td { padding: 0; border: 0; }
/* Each panel lays out on its own: a card opening in the files table does not lay out the peer table or the feed again. */
.panel { contain: layout paint; }
@media (max-width: 1000px) { .columns { grid-template-columns: minmax(0, 1fr); } .top { gap: 12px; } }
.scroll { overflow: auto; }
.scroll.tall { max-height: 460px; }
.empty { margin: 8px 2px 2px; }

table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .05em; color: var(--muted);
  padding: 6px 10px; border-bottom: 1px solid var(--border); position: sticky; top: 0; background: var(--panel); white-space: nowrap; }
td { padding: 6px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; }
.num { text-align: right; }
tr.file { cursor: pointer; }
tr.file:hover, #peers tbody tr:hover { background: var(--hover); }
tr.file:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
td.name { font-weight: 600; max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
td.md5 { max-width: 160px; overflow: hidden; text-overflow: ellipsis; color: var(--muted); }
td.copies.bad { color: var(--missing); font-weight: 600; }
.since .at { margin-left: 8px; }
.caret { display: inline-block; width: 1.1em; color: var(--muted); transition: transform .15s; }
tr.file.open .since .at { margin-left: 8px; }
.caret { transform: rotate(90deg); }
tr.detail > td { padding: 4px 10px 14px; white-space: normal; background: var(--bg); }
.card { padding: 10px 12px 8px; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; }
.card-head { display: flex; gap: 10px; align-items: baseline; margin: 4px 0 8px; }
.card-head h3 { font-size: 12px; margin: 0; text-transform: uppercase; letter-spacing: .05em; }
.card-head span { font-size: 12px; }
canvas { display: block; width: 100%; }
.legend { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 8px; font-size: 12px; margin: 8px 0 14px; }
.legend .scale { display: flex; align-items: center; gap: 3px; }
.legend .scale .muted { margin: 0 4px; }
.sw { display: inline-block; width: 14px; height: 12px; border-radius: 3px; }
.summary { font-weight: 600; }

#feed { list-style: none; margin: 0; padding: 0; }
.ev { display: grid; grid-template-columns: auto auto 1fr; gap: 10px; align-items: baseline; padding: 5px 2px; border-bottom: 1px solid var(--border); }
.ev .what { overflow-wrap: anywhere; }
.badge { font-size: 10.5px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; padding: 1px 7px; border-radius: 999px;
  color: var(--c); background: color-mix(in srgb, var(--c) 14%, transparent); min-width: 60px; text-align: center; }
.ev.login { --c: var(--login); } .ev.add { --c: var(--add); } .ev.part { --c: var(--part); }
.ev.logout { --c: var(--logout); } .ev.refused { --c: var(--refused); }

#tooltip { position: fixed; z-index: 10; pointer-events: none; padding: 4px 8px; border-radius: 6px; font-size: 12px;
  background: var(--text); color: var(--panel); box-shadow: 0 2px 8px rgba(0,0,0,.25); white-space: nowrap; }
footer { text-align: center; font-size: 12px; padding: 8px 0 20px; }
`;
