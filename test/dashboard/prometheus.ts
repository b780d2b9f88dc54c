/**
 * A small, strict parser of the Prometheus text exposition format (0.0.4), for
 * tests: every line must be a HELP, a TYPE or a sample of a declared family,
 * and histograms must be consistent (cumulative buckets, +Inf equals _count).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
// Prometheus reads values with Go's ParseFloat, which takes Inf and NaN in any case (prom-client writes `Nan`).
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?[Ii][Nn][Ff]|[Nn][Aa][Nn])';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})(?: (-?\\d+))?$`);
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`);

function parseValue(text: string): number {
  if (/^[+]?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL_PAIR.exec(rest);
    if (!m) throw new Error(`line ${line}: bad label set {${text}}`);
    const name = m[1] as string;
    if (name in out) throw new Error(`line ${line}: label ${name} repeated`);
    out[name] = (m[2] as string).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest.length > 0) throw new Error(`line ${line}: expected , in labels {${text}}`);
  }
  return out;
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || f.type === 'summary' || suffix === '_total')) return f;
  }
  return undefined;
}

export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const h = HELP.exec(raw);
      if (h) {
        if (helps.has(h[1] as string)) throw new Error(`line ${n}: second HELP for ${h[1]}`);
        helps.set(h[1] as string, h[2] as string);
        const f = families.get(h[1] as string);
        if (f) f.help = h[2] as string;
        return;
      }
      const t = TYPE.exec(raw);
      if (t) {
        const name = t[1] as string;
        if (families.has(name)) throw new Error(`line ${n}: second TYPE for ${name}`);
        families.set(name, { name, type: t[2] as Family['type'], help: helps.get(name) ?? '', samples: [] });
        return;
      }
      if (raw.startsWith('# HELP') || raw.startsWith('# TYPE')) throw new Error(`line ${n}: malformed ${raw}`);
      return; // a plain comment
    }
    const m = SAMPLE.exec(raw);
    if (!m) throw new Error(`line ${n}: not a sample: ${JSON.stringify(raw)}`);
    const name = m[1] as string;
    const family = familyOf(name, families);
    if (!family) throw new Error(`line ${n}: sample ${name} before any TYPE of its family`);
    const value = parseValue(m[3] as string);
    if (Number.isNaN(value) && !/^nan$/i.test(m[3] as string)) throw new Error(`line ${n}: bad value ${m[3]}`);
    family.samples.push({ name, labels: parseLabels(m[2] ?? '', n), value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      g.buckets.push([parseValue(le), s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
  }
  for (const [key, g] of groups) {
    let prev = -Infinity;
    let prevCount = 0;
    for (const [le, c] of g.buckets) {
      if (!(le > prev)) throw new Error(`${f.name}${key}: bucket bounds not increasing`);
      if (c < prevCount) throw new Error(`${f.name}${key}: buckets not cumulative`);
      prev = le;
      prevCount = c;
    }
    if (prev !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (g.count !== prevCount) throw new Error(`${f.name}${key}: +Inf bucket ${prevCount} != _count ${g.count}`);
  }
}

/** The value of one sample, matching every label given; undefined if absent. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
