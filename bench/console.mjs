// The console's first render per view in a real headless Chromium (Debian's,
// driven by puppeteer-core from console/node_modules), against a running
// coordinator; bench/console starts it and gives us, in the environment,
//   CONSOLE_URL           http://127.0.0.1:PORT (API and console)
//   CHROMIUM              the browser (default /usr/bin/chromium)
//   BENCH_CONSOLE_PHASE   a name for the lines printed (empty, seeded)
//   BENCH_CONSOLE_ROWS    1: every list view must show rows (seeded data);
//                         0: its table, empty, is enough
//   BENCH_CONSOLE_RUNS    measured loads of each view (default 5)
//   BENCH_CONSOLE_WAIT    ms a load may take to render (default 30000)
//   BENCH_CONSOLE_OUT     a file: "view<TAB>median<TAB>max" per view (ms),
//                         and per part timed alongside ("dlq:stats")
//   BENCH_CONSOLE_VERBOSE 1: also every request of each view's median run
//                         (start-end, request sent, first byte of the answer)
// Each load is a fresh browser context (no cache, no cookies): the index,
// its files and the view's API calls, as a first visit. The time of a load
// is from navigation start to the first animation frame after the view's
// data is in the DOM (a MutationObserver installed before the page's own
// scripts sees the selector match). The first load of each view is
// printed apart (cold: the coordinator's first call of that route). Exit
// status 1 when a view did not render within BENCH_CONSOLE_WAIT.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const require = createRequire(new URL('../console/package.json', import.meta.url));
const puppeteer = require('puppeteer-core');

const url = process.env.CONSOLE_URL;
const phase = process.env.BENCH_CONSOLE_PHASE || 'run';
const rows = process.env.BENCH_CONSOLE_ROWS === '1';
const runs = Math.max(1, Number(process.env.BENCH_CONSOLE_RUNS || 5));
const WAIT = Number(process.env.BENCH_CONSOLE_WAIT || 30000);

// Each view: its path, its API call (the Overview's data comes by the
// event stream), the selector that shows its data (rows: seeded; ready:
// what an empty answer renders) and other parts timed alongside.
const VIEWS = [
  { name: 'overview', path: '/', rows: 'table.queues[data-kind="Bands"] tbody tr' },
  { name: 'tasks', path: '/tasks', api: '/tasks', rows: 'table.tasks tbody tr', ready: 'table.tasks' },
  {
    name: 'dlq', path: '/dlq', api: '/dlq', rows: 'table.dlq tbody tr', ready: 'table.dlq',
    also: { stats: '#dlq-count', depth: '#dlq-gauge' },
  },
  { name: 'failures', path: '/dlq/groups', api: '/dlq/groups', rows: 'table.groups tbody tr', ready: 'table.groups' },
  { name: 'schedules', path: '/schedules', api: '/schedules', rows: 'table.schedules tbody tr', ready: 'table.schedules' },
  { name: 'breakers', path: '/breakers', api: '/breakers', rows: 'table.breakers tbody tr', ready: 'table.breakers' },
];

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor((s.length - 1) / 2)];
};
const kB = (b) => `${(b / 1000).toFixed(1)} kB`;
const isApi = (u) => new URL(u).pathname.startsWith('/api/');

// In the page, before its scripts: the first frame after each selector of
// marks ([name, selector]) matches, in ms since navigation start.
function observe(marks) {
  window.__marks = {};
  const seen = {};
  const check = () => {
    for (const [name, sel] of marks) {
      if (!seen[name] && document.querySelector(sel)) {
        seen[name] = true;
        requestAnimationFrame(() => { window.__marks[name] = performance.now(); });
      }
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  protocolTimeout: WAIT + 30000,
});

// load(view, weigh): one load of a view in a fresh context; its marks, the
// rows shown, the network entries up to the render and, with weigh, the
// bytes of the console's own files (not the API's) as loaded
async function load(view, weigh) {
  const ctx = await browser.createBrowserContext();
  try {
    const page = await ctx.newPage();
    await page.setViewport({ width: 1280, height: 720 });
    const errors = [];
    const files = [];
    const codings = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
      else if (weigh && !isApi(r.url())) {
        files.push(r.buffer().then((b) => b, () => Buffer.alloc(0)));
        codings.push(r.headers()['content-encoding'] || 'identity');
      }
    });
    const marks = [['render', rows || !view.ready ? view.rows : view.ready],
      ...Object.entries(view.also || {})];
    await page.evaluateOnNewDocument(observe, marks);
    await page.goto(url + view.path, { waitUntil: 'domcontentloaded', timeout: WAIT });
    try {
      await page.waitForFunction((names) => names.every((n) => window.__marks[n] !== undefined),
        { timeout: WAIT, polling: 50 }, marks.map(([n]) => n));
    } catch (e) {
      throw new Error(`${view.name} (${view.path}) did not render ${marks.map(([, s]) => s).join(', ')} ` +
        `within ${WAIT} ms${errors.length ? `; ${errors.join('; ')}` : ''}`);
    }
    const got = await page.evaluate((sel) => ({
      marks: window.__marks,
      rows: document.querySelectorAll(sel).length,
      entries: [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
        .map((e) => ({
          name: e.name, start: e.startTime, sent: e.requestStart, first: e.responseStart,
          end: e.responseEnd, transfer: e.transferSize, body: e.encodedBodySize,
        })),
    }), view.rows);
    got.errors = errors;
    if (weigh) {
      got.files = await Promise.all(files);
      got.codings = codings;
    }
    return got;
  } finally {
    await ctx.close();
  }
}

// Where a load's time went: when the console's files were in, and when
// GET /whoami (the shell renders a view once it has answered) and the
// view's own API call (the first, if polled) started and ended
function where(view, got) {
  const files = got.entries.filter((e) => !isApi(e.name) && e.end <= got.marks.render);
  const call = (api) => {
    const e = got.entries.find((x) => new URL(x.name).pathname === `/api/v1${api}`);
    return e ? `, GET ${api} ${e.start.toFixed(0)}-${e.end.toFixed(0)} ms` : '';
  };
  return `files in by ${Math.max(0, ...files.map((e) => e.end)).toFixed(0)} ms${call('/whoami')}` +
    (view.api ? call(view.api) : ', data by the event stream');
}

let failed = 0;
const out = [];
const results = new Map(VIEWS.map((v) => [v.name, []]));
try {
  // cold: each view's first load; the overview's also weighs the files
  for (const v of VIEWS) {
    const got = await load(v, v.name === 'overview');
    if (got.files) {
      const raw = got.files.reduce((n, b) => n + b.length, 0);
      const gz = got.files.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);
      const mine = got.entries.filter((e) => !isApi(e.name));
      const body = mine.reduce((n, e) => n + e.body, 0);
      const sent = mine.reduce((n, e) => n + e.transfer, 0);
      const gzipped = got.codings.filter((c) => c === 'gzip').length;
      console.log(`  ${phase}: a first load of / fetches ${got.files.length} files of the console: ` +
        `${kB(raw)}, ${kB(gz)} gzip -9; over the wire ${kB(body)} of bodies ` +
        `(${gzipped} of ${got.files.length} sent with Content-Encoding: gzip), ${kB(sent)} with headers`);
    }
    console.log(`  ${phase}: ${v.name.padEnd(9)} cold ${got.marks.render.toFixed(0)} ms (${where(v, got)})`);
  }
  for (let i = 0; i < runs; i++) {
    for (const v of VIEWS) results.get(v.name).push(await load(v, false));
  }
  for (const v of VIEWS) {
    const all = results.get(v.name);
    const times = all.map((g) => g.marks.render);
    const med = median(times);
    const mid = all[times.indexOf(med)];
    const also = Object.keys(v.also || {}).map((k) => {
      const t = all.map((g) => g.marks[k]);
      return `, ${k} ${median(t).toFixed(0)} (max ${Math.max(...t).toFixed(0)})`;
    }).join('');
    const errs = [...new Set(all.flatMap((g) => g.errors))];
    console.log(`  ${phase}: ${v.name.padEnd(9)} ${runs} runs: median ${med.toFixed(0)} ms, ` +
      `max ${Math.max(...times).toFixed(0)} ms${also}; ${mid.rows} rows; median run: ${where(v, mid)}` +
      (errs.length ? `; errors: ${errs.slice(0, 3).join('; ')}` : ''));
    if (process.env.BENCH_CONSOLE_VERBOSE) {
      for (const e of [...mid.entries].sort((a, b) => a.start - b.start)) {
        const u = new URL(e.name);
        console.log(`      ${e.start.toFixed(0).padStart(5)}-${e.end.toFixed(0).padEnd(5)} ms ${u.pathname}${u.search} ` +
          `(sent ${e.sent.toFixed(0)}, first byte ${e.first.toFixed(0)})`);
      }
    }
    const row = (name, t) => out.push(`${name}\t${Math.round(median(t))}\t${Math.round(Math.max(...t))}`);
    row(v.name, times);
    for (const k of Object.keys(v.also || {})) row(`${v.name}:${k}`, all.map((g) => g.marks[k]));
  }
} catch (e) {
  failed = 1;
  console.log(`  ${phase}: INCOMPLETE: ${e.message.split('\n')[0]}`);
} finally {
  await browser.close();
}
if (process.env.BENCH_CONSOLE_OUT) writeFileSync(process.env.BENCH_CONSOLE_OUT, out.join('\n') + '\n');
process.exit(failed);
