/** The dashboard page, embedded as strings so that it ships inside dist. */
export { APP_JS } from './app.js';
export { APP_CSS } from './css.js';
export { CHARTS_JS } from './charts.js';
export { FAVICON_SVG } from './favicon.js';
export { INDEX_HTML } from './html.js';
