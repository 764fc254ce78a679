// The console in a real headless Chromium (Debian's, driven by
// puppeteer-core) against a running coordinator: tests/console/run starts
// the stack and gives us, in the environment,
//   CONSOLE_URL    http://127.0.0.1:PORT (API and console)
//   CONSOLE_TOKEN  an operator token
//   CONSOLE_TASK   the id of a task that was submitted and runs
//   CONSOLE_DEAD   the id of a task that failed for good (a dead letter)
//   CONSOLE_FLAKY  the id of a task that died after 3 transient failures
//   CONSOLE_CTL    droverctl and its config ("PATH -c FILE"), to compare
//                  the console's DLQ export with `droverctl dlq export`
//   CHROMIUM       the browser (default /usr/bin/chromium)
//   CONSOLE_SCREENSHOTS  a folder: a picture of each view goes there
//                  (NAME.webp, 1280x800; scripts/screenshots keeps those
//                  docs/console.md shows)
// Each check prints "ok NAME" or "FAIL NAME: why"; the last line is
// "browser: N passed, M failed". Every wait is bounded.
import { execFileSync } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import puppeteer from 'puppeteer-core';

const url = process.env.CONSOLE_URL;
const token = process.env.CONSOLE_TOKEN;
const taskId = process.env.CONSOLE_TASK;
const deadId = process.env.CONSOLE_DEAD;
const flakyId = process.env.CONSOLE_FLAKY;
const WAIT = 15000;

let passed = 0;
let failed = 0;
const errors = [];
// responses a check asks for on purpose ("400 POST /api/v1/schedules"),
// each forgiven once by the last check
const expected = [];

// Click the element itself, not a point on the page: on the DLQ page the
// panels above may still be loading and move a button between a wait and
// a click by position (seen: an export never started, a cancel missed).
async function press(page, sel) {
  await page.waitForSelector(sel);
  await page.$eval(sel, (e) => e.click());
}

async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    console.log(`ok ${name}${detail ? ` (${detail})` : ''}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}

async function apiCall(method, path, body) {
  const r = await fetch(url + '/api/v1' + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
  return r.json();
}
const apiGet = (path) => apiCall('GET', path);
// the HTTP status of GET path
const apiStatus = async (path) => (await fetch(url + '/api/v1' + path,
  { headers: { Authorization: `Bearer ${token}` } })).status;

// shot(page, name): the viewport as shots/NAME.webp (lossy: a view is
// 30-90 kB), when CONSOLE_SCREENSHOTS names a folder; the mouse moved off
// the page first, so no tooltip or hover shows
const shots = process.env.CONSOLE_SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });
async function shot(page, name) {
  if (!shots) return;
  await page.mouse.move(0, 0);
  await page.screenshot({ path: `${shots}/${name}.webp`, type: 'webp', quality: 70 });
}

// until(fn): fn's value once truthy, trying for up to WAIT ms
async function until(fn, what) {
  const end = Date.now() + WAIT;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());

// drag(page, sel, a, b): the mouse pressed at fraction a of the element's
// width (from its left + left px) and released at fraction b, half way
// down
async function drag(page, sel, a, b, left = 0) {
  const box = await (await page.$(sel)).boundingBox();
  const at = (f) => box.x + left + (box.width - left) * f;
  const y = box.y + box.height / 2;
  await page.mouse.move(at(a), y);
  await page.mouse.down();
  await page.mouse.move(at(b), y, { steps: 8 });
  await page.mouse.up();
}

// the URL's from and to, in ms (NaN when absent)
const urlRange = (page) => page.evaluate(() => {
  const q = new URLSearchParams(location.search);
  return [Date.parse(q.get('from')), Date.parse(q.get('to'))];
});
const isoOf = (ms) => new Date(ms).toISOString();

// plainGet(path): {status, headers, body (a Buffer)} of GET path as sent
// to a client that asks for no encoding (node:http sends no
// Accept-Encoding and inflates nothing)
const plainGet = (path) => new Promise((resolve, reject) => {
  httpGet(url + path, (r) => {
    const chunks = [];
    r.on('data', (c) => chunks.push(c));
    r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
  }).on('error', reject);
});

// blocking(page, path, fn): fn() while every GET of the API path path
// ('/api/v1/...') the page makes is aborted (as leaving a page aborts a
// poll: not counted as a failure); fn's value and how many were blocked
async function blocking(page, path, fn) {
  let blocked = 0;
  const block = (r) => {
    if (r.method() === 'GET' && new URL(r.url()).pathname === path) {
      blocked++;
      return r.abort('aborted');
    }
    return r.continue();
  };
  await page.setRequestInterception(true);
  page.on('request', block);
  try {
    return [await fn(), blocked];
  } finally {
    page.off('request', block);
    await page.setRequestInterception(false);
  }
}

// jobFromPage(page, body): on a page with a job's start, the dry run
// (equal to the API's own for body), then the job, until its page says
// done; its id, the dry run's count and the API's job
async function jobFromPage(page, body) {
  await press(page, '#job-dry');
  await page.waitForSelector('#job-count');
  const dry = await apiCall('POST', '/dlq/jobs', { ...body, dry_run: true });
  const n = Number(await page.$eval('#job-count', (e) => e.dataset.count));
  if (n !== dry.count || n < 1) throw new Error(`dry run shows ${n}, the API says ${dry.count}`);
  await page.click('#job-confirm');
  await page.waitForFunction(() => /^\/dlq\/jobs\/[0-9A-Z]{26}$/.test(location.pathname));
  const id = await page.evaluate(() => location.pathname.split('/').pop());
  await page.waitForSelector('#job-state[data-state="done"]', { timeout: WAIT });
  return { id, n, job: await apiGet(`/dlq/jobs/${id}`) };
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  protocolTimeout: 30000,
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT);
  await page.setViewport({ width: 1280, height: 800 });
  page.on('console', (m) => {
    // a failed load is reported with its address by 'response' below
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      errors.push(`console: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    const what = `${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`;
    const i = expected.indexOf(what);
    if (i >= 0) expected.splice(i, 1);
    else if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => {
    // a poll cut short by leaving the page is not a failure, nor is a
    // stream the fallback check blocks (the live checks test the stream)
    if (r.failure()?.errorText !== 'net::ERR_ABORTED' && !r.url().includes('/api/v1/live')) {
      errors.push(`request failed: ${r.url()}`);
    }
  });

  await check('overview shows the queues without a token (loopback viewer)', async () => {
    const t0 = Date.now();
    await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('table.queues[data-kind="Bands"] tbody tr');
    const ms = Date.now() - t0;
    const bands = await page.$$eval('table.queues[data-kind="Bands"] tbody tr td:first-child',
      (tds) => tds.map((td) => td.textContent));
    for (const b of ['high', 'normal', 'low']) {
      if (!bands.includes(b)) throw new Error(`no band ${b} in ${bands}`);
    }
    await page.waitForSelector('.live[data-state="live"]');
    if ((await text(page, '.who')) !== 'loopback · viewer') throw new Error(await text(page, '.who'));
    return `first render with data in ${ms} ms`;
  });

  await check('the overview shows tasks/s by outcome per band: the band the tasks ran in has succeeded > 0', async () => {
    // the band whose newest 5 minutes (the panel's) counted a success, as
    // the API has it once the worker's counts arrived (its next flush)
    const [band, n] = await until(async () => {
      for (const b of ['high', 'normal', 'low']) {
        const h = await apiGet(`/history?band=${b}&since=30m`);
        const ok = h.points.slice(-5).reduce((sum, p) => sum + p.succeeded, 0);
        if (ok > 0) return [b, ok];
      }
      return null;
    }, 'the history counted a success in a band');
    await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
    const sel = `#outcomes tr[data-band="${band}"] td[data-outcome="succeeded"]`;
    await page.waitForSelector(sel);
    const [count, perS, shown] = await page.$eval(sel, (e) => [Number(e.dataset.count), Number(e.dataset.perS), e.textContent]);
    if (!(count >= n && perS > 0 && Number(shown) > 0)) {
      throw new Error(`${band}: ${count} succeeded (${shown}/s) shown, the API has ${n}`);
    }
    if (!(await page.$(`#outcomes-${band} rect.ok`))) throw new Error(`no succeeded bar for ${band}`);
    await page.waitForSelector('#outcomes .live[data-state="live"]');
    await shot(page, 'overview');
    return `${band}: ${count} succeeded, ${shown}/s`;
  });

  await check('the console\'s files come gzipped to the browser, plain to a client that does not ask', async () => {
    const ctx = await browser.createBrowserContext();   // no cache
    try {
      const p = await ctx.newPage();
      const got = [];
      p.on('response', (r) => {
        if (!new URL(r.url()).pathname.startsWith('/api/')) got.push(r);
      });
      await p.goto(url + '/', { waitUntil: 'load' });
      const sent = await p.evaluate(() => Object.fromEntries(performance.getEntriesByType('resource')
        .map((e) => [new URL(e.name).pathname, e.encodedBodySize])));
      const files = got.filter((r) => /\.(js|css)$/.test(new URL(r.url()).pathname));
      if (files.length < 2) throw new Error(`${files.length} script and style files loaded`);
      const out = [];
      for (const r of files) {
        const path = new URL(r.url()).pathname;
        const h = r.headers();
        if (h['content-encoding'] !== 'gzip') throw new Error(`${path}: Content-Encoding ${h['content-encoding']}`);
        if (h.vary !== 'Accept-Encoding') throw new Error(`${path}: Vary ${h.vary}`);
        const plain = await plainGet(path);
        if (plain.headers['content-encoding']) throw new Error(`${path} gzipped unasked`);
        if (plain.headers.vary !== 'Accept-Encoding') throw new Error(`${path}: plain Vary ${plain.headers.vary}`);
        if (!(await r.buffer()).equals(plain.body)) throw new Error(`${path}: inflated bytes differ from the plain file`);
        if (!(sent[path] > 0 && sent[path] < plain.body.length / 2)) {
          throw new Error(`${path}: ${sent[path]} bytes sent for ${plain.body.length}`);
        }
        out.push(`${path.split('/').pop()} ${plain.body.length} -> ${sent[path]} B`);
      }
      return out.join(', ');
    } finally {
      await ctx.close();
    }
  });

  await check('the header says live: the overview comes by the event stream', async () => {
    const streams = [];
    const seen = (r) => r.url().includes('/api/v1/live') && streams.push(r.url());
    page.on('request', seen);
    await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#conn[data-state="live"]');
    // a second event moves the view's time on (events every 2 s)
    const first = await text(page, '.title .live .muted');
    await until(async () => (await text(page, '.title .live .muted')) !== first, 'a second event');
    page.off('request', seen);
    if (!streams.length) throw new Error('no request to /api/v1/live');
    return `${streams.length} stream(s), header "${await text(page, '#conn')}"`;
  });

  await check('without the stream the overview polls and the header says so', async () => {
    await page.setRequestInterception(true);
    const block = (r) => (r.url().includes('/api/v1/live') ? r.abort() : r.continue());
    page.on('request', block);
    try {
      await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#conn[data-state="polling"]');
      await page.waitForSelector('table.queues[data-kind="Bands"] tbody tr');
    } finally {
      page.off('request', block);
      await page.setRequestInterception(false);
    }
  });

  await check('a viewer sees no action buttons', async () => {
    await page.goto(`${url}/tasks/${taskId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#task-state');
    if (await page.$('#task-pause')) throw new Error('pause shown to a viewer');
  });

  await check('a viewer sees the DLQ and schedules but no resubmit or enable/disable', async () => {
    await page.goto(`${url}/dlq`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('table.dlq tbody tr[data-dlq]');
    if (await page.$('#resubmit-dry')) throw new Error('resubmit shown to a viewer');
    if (await page.$('#job-dry')) throw new Error('a job\'s start shown to a viewer');
    if (await page.$('#discard-dry')) throw new Error('a filter\'s discard shown to a viewer');
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-schedule="nightly"]');
    if (await page.$('button.toggle')) throw new Error('enable/disable shown to a viewer');
    if (await page.$('button.trigger')) throw new Error('trigger now shown to a viewer');
    if (await page.$('#schedule-add-open')) throw new Error('add schedule shown to a viewer');
  });

  await check('a viewer sees no retry form on a dead task', async () => {
    await page.goto(`${url}/tasks/${deadId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelector('#task-state')?.textContent === 'dead');
    if (await page.$('#retry')) throw new Error('retry with new parameters shown to a viewer');
  });

  await check('log in with an operator token', async () => {
    // the login button comes once whoami has answered (the views do not
    // wait for it), which may be late on a loaded host
    await press(page, '#login-open');
    await page.waitForSelector('#token');
    await page.type('#token', token);
    await press(page, 'form.login button[type=submit]');
    await page.waitForFunction(() => document.querySelector('.who')?.textContent.includes('operator'));
  });

  await check('task detail by deep link: state, attempts, operator buttons', async () => {
    await page.goto(`${url}/tasks/${taskId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#task-state');
    await page.waitForFunction(() => document.querySelector('#task-state')?.textContent === 'succeeded',
      { timeout: 30000 });
    await page.waitForSelector('ol.timeline li .bar');
    // the buttons come once whoami has answered, which may be after the
    // task's data on a loaded host
    for (const a of ['pause', 'resume', 'skip', 'cancel']) {
      await page.waitForSelector(`#task-${a}`).catch(() => { throw new Error(`no ${a} button`); });
    }
    await shot(page, 'task');
    return `state ${await text(page, '#task-state')}`;
  });

  await check('a dead task\'s life on one axis: queued, each retry delay and its dead letter, at the API\'s times', async () => {
    if (!flakyId) throw new Error('no CONSOLE_FLAKY');
    await page.goto(`${url}/tasks/${flakyId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelector('#task-state')?.textContent === 'dead');
    await page.waitForSelector('#life a.mark.dlq');
    const t = await apiGet(`/tasks/${flakyId}`);
    const lin = await apiGet(`/tasks/${flakyId}/lineage`);
    const h = [...t.history].sort((a, b) => a.attempt - b.attempt);
    if (h.length < 2) throw new Error(`${h.length} attempts in the API's history`);
    const segs = await page.$$eval('#life .seg.queued, #life .seg.delay', (l) => l.map((e) => ({
      kind: e.classList.contains('queued') ? 'queued' : 'delay', from: Number(e.dataset.from), to: Number(e.dataset.to), title: e.getAttribute('title') })));
    const q = segs.filter((x) => x.kind === 'queued');
    if (q.length !== 1 || q[0].from !== t.created_ms || q[0].to !== h[0].started_ms) {
      throw new Error(`queued ${JSON.stringify(q)}, the API: ${t.created_ms} to ${h[0].started_ms}`);
    }
    const d = segs.filter((x) => x.kind === 'delay');
    const want = h.slice(1).map((b, i) => ({ from: h[i].finished_ms, to: b.started_ms }));
    if (!isDeepStrictEqual(d.map(({ from, to }) => ({ from, to })), want)) {
      throw new Error(`delays ${JSON.stringify(d)}, the API ${JSON.stringify(want)}`);
    }
    const iso = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
    if (!d[0].title.includes(iso(want[0].from)) || !d[0].title.includes(iso(want[0].to))) throw new Error(`tooltip ${d[0].title}`);
    const dl = lin.tasks.find((x) => x.id === flakyId).dead_letters;
    if (!dl.length) throw new Error('no dead letter in the lineage');
    const marks = await page.$$eval('#life a.mark.dlq', (l) => l.map((a) => ({ at: Number(a.dataset.at), href: a.getAttribute('href') })));
    const wantMarks = dl.map((x) => ({ at: x.dead_ms, href: `/dlq/${x.id}` }));
    if (!isDeepStrictEqual(marks, wantMarks)) throw new Error(`marks ${JSON.stringify(marks)}, the API ${JSON.stringify(wantMarks)}`);
    await shot(page, 'task-life');
    return `queued ${q[0].to - q[0].from} ms, delays ${d.map((x) => x.to - x.from).join(', ')} ms`;
  });

  await check('the task list holds the task and links to it', async () => {
    await page.goto(`${url}/tasks?state=succeeded`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`a[href="/tasks/${taskId}"]`);
    await shot(page, 'tasks');
    await page.click(`a[href="/tasks/${taskId}"]`);
    await page.waitForSelector('#task-state');
    if (new URL(page.url()).pathname !== `/tasks/${taskId}`) throw new Error(page.url());
  });

  const breaker = `console-test-${Date.now()}`;
  await check('force a breaker open from the Breakers page', async () => {
    await page.goto(`${url}/breakers`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#breaker-name');
    await page.type('#breaker-name', breaker);
    await page.click('#breaker-force-open');
    await page.waitForSelector('#breaker-result');
    await page.waitForSelector(`tr[data-breaker="${breaker}"]`);
    const v = await apiGet(`/breakers/${breaker}`);
    if (v.state !== 'forced_open') throw new Error(`the API says ${v.state}`);
    await shot(page, 'breakers');
    return `API: ${v.state}`;
  });

  await check('a breaker\'s failure rate is the API\'s percent (4 of 10 calls: 40%)', async () => {
    await page.waitForSelector('tr[data-breaker="rated"]');
    const v = await apiGet('/breakers/rated');
    const cells = await page.$$eval('tr[data-breaker="rated"] td.num', (tds) => tds.map((t) => t.textContent));
    if (v.failure_rate !== 40 || cells[0] !== '40%' || cells[1] !== '10' || cells[2] !== '4') {
      throw new Error(`page ${cells}, API failure_rate ${v.failure_rate}`);
    }
    return cells[0];
  });

  await check('a breaker\'s rates are drawn against its policy (40% over its 30%, slow 0 of 80%)', async () => {
    const v = await apiGet('/breakers/rated');
    const bars = await page.$$eval('tr[data-breaker="rated"] svg[data-rate]', (ss) => ss.map((s) =>
      [s.dataset.rate, Number(s.dataset.value), Number(s.dataset.threshold),
        s.querySelector('rect.fill').classList.contains('bad'),
        Number(s.querySelector('rect.fill').getAttribute('width')), Number(s.querySelector('line').getAttribute('x1'))]));
    const p = v.policy || {};
    if (p.entry !== 'rated' || p.failure_rate !== 30 || p.slow_call_rate !== 80 || p.min_calls !== 5
      || p.window_ms !== 300000) {
      throw new Error(`API policy ${JSON.stringify(p)}`);
    }
    const [f, s] = bars;
    if (bars.length !== 2 || f[0] !== 'failure' || f[1] !== 40 || f[2] !== 30 || !f[3] || f[4] <= f[5]
      || s[0] !== 'slow' || s[1] !== 0 || s[2] !== 80 || s[3] || s[4] !== 0) {
      throw new Error(`bars ${JSON.stringify(bars)}`);
    }
    return `failure ${f[1]}% | ${f[2]}%, slow ${s[1]}% | ${s[2]}%`;
  });

  await check('a half-open breaker shows its probes in flight of its policy\'s (1 of 4)', async () => {
    await page.waitForSelector('tr[data-breaker="probing"] .probes');
    const v = await apiGet('/breakers/probing');
    const shown = await page.$eval('tr[data-breaker="probing"] .probes', (e) =>
      [Number(e.dataset.probesLeased), Number(e.dataset.probesOf), e.textContent]);
    if (v.state !== 'half_open' || v.probes_leased !== 1 || v.policy.half_open_calls !== 4
      || shown[0] !== 1 || shown[1] !== 4 || shown[2] !== '1/4 probes') {
      throw new Error(`page ${JSON.stringify(shown)}, API ${v.state} ${v.probes_leased}/${v.policy.half_open_calls}`);
    }
    const none = await page.$$eval('tr[data-breaker="rated"] .probes', (es) => es.length);
    if (none) throw new Error('a closed breaker shows probes');
    return shown[2];
  });

  // a task whose breaker (its label drover.breaker) is the one forced open
  // above: the worker turns it away and records the wait
  let waiter = null;
  await check('a task turned away by a forced-open breaker shows its wait on its timeline', async () => {
    const sub = await apiCall('POST', '/tasks', { handler: 'echo', labels: { 'drover.breaker': breaker } });
    waiter = sub.id;
    const t = await until(async () => {
      const x = await apiGet(`/tasks/${waiter}`).catch(() => null);
      return x && (x.waits || []).find((w) => w.name === breaker) ? x : null;
    }, 'the API\'s task has the wait');
    const w = t.waits.find((x) => x.name === breaker);
    if (w.kind !== 'breaker' || w.state !== 'forced_open' || !(w.until_ms > w.at_ms)) throw new Error(`wait ${JSON.stringify(w)}`);
    await page.goto(`${url}/tasks/${waiter}`, { waitUntil: 'domcontentloaded' });
    const sel = `#life .seg.breaker[data-breaker="${breaker}"]`;
    await page.waitForSelector(sel);
    const seg = await page.$eval(sel, (e) => ({ from: Number(e.dataset.from), title: e.getAttribute('title') }));
    if (seg.from !== w.at_ms) throw new Error(`segment from ${seg.from}, the API's at_ms ${w.at_ms}`);
    if (!seg.title.includes(`breaker ${breaker} (forced_open)`)) throw new Error(`tooltip ${seg.title}`);
    const legend = await text(page, '#life .legend-breaker');
    if (!legend.includes(`for breaker ${breaker},`)) throw new Error(`legend ${legend}`);
    await shot(page, 'task-breaker-wait');
    // back where the next check releases the breaker from its row
    await page.goto(`${url}/breakers`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`tr[data-breaker="${breaker}"] button:nth-child(3)`);
    return legend;
  });

  await check('release it from its row', async () => {
    await page.click(`tr[data-breaker="${breaker}"] button:nth-child(3)`);
    await page.waitForFunction((b) => document.querySelector(`tr[data-breaker="${b}"] .state`)
      ?.textContent === 'closed', {}, breaker);
    const v = await apiGet(`/breakers/${breaker}`);
    if (v.state !== 'closed') throw new Error(`the API says ${v.state}`);
  });

  await check('the breaker\'s timeline: a strip with its states and its transitions with why', async () => {
    await page.goto(`${url}/breakers?breaker=${breaker}&span=1h`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`#breaker-transitions[data-breaker="${breaker}"] tr[data-gen="2"]`);
    const rows = await page.$$eval('#breaker-transitions tbody tr', (trs) => trs.map((tr) =>
      [tr.dataset.gen, tr.dataset.to, tr.lastElementChild.textContent]));
    const log = await apiGet(`/breakers/${breaker}/transitions`);
    if (rows.length !== 2 || rows[0][1] !== 'closed' || rows[1][1] !== 'forced_open') {
      throw new Error(`rows ${JSON.stringify(rows)}`);
    }
    if (!rows[1][2].startsWith('forced by api:') || !rows[0][2].startsWith('reset by api:')) {
      throw new Error(`why ${rows[1][2]} / ${rows[0][2]}`);
    }
    if (log.transitions.length !== 2) throw new Error(`the API has ${log.transitions.length}`);
    const states = await page.$$eval(`svg[data-strip="${breaker}"] rect`, (rs) => rs.map((r) => r.dataset.state));
    if (!states.includes('forced_open') || states[states.length - 1] !== 'closed') {
      throw new Error(`strip ${states}`);
    }
    await page.click('button[data-span="24h"]');
    await page.waitForFunction(() => location.search.includes('span=24h'));
    await shot(page, 'breaker-timeline');
    return `strip ${states.join(' → ')}`;
  });

  await check('the breaker\'s strip spans a week: 7d button, in the URL, the same transitions', async () => {
    await page.goto(`${url}/breakers?breaker=${breaker}&span=24h`, { waitUntil: 'domcontentloaded' });
    await press(page, 'button[data-span="7d"]');
    await page.waitForFunction(() => location.search.includes('span=7d'));
    const sel = `svg[data-strip="${breaker}"]`;
    // the strip is drawn at once in the breaker's state, then again when
    // its transitions are read: wait for those
    await page.waitForFunction((s) => {
      const e = document.querySelector(s);
      return e && Number(e.dataset.to) - Number(e.dataset.from) === 7 * 86400e3 &&
        e.querySelector('rect[data-state="forced_open"]');
    }, {}, sel);
    const states = await page.$$eval(`${sel} rect`, (rs) => rs.map((r) => r.dataset.state));
    if (!states.includes('forced_open') || states[states.length - 1] !== 'closed') throw new Error(`strip ${states}`);
    if (!await page.$('button.active[data-span="7d"]')) throw new Error('7d not shown as chosen');
    // the deep link keeps it
    await page.goto(`${url}/breakers?breaker=${breaker}&span=7d`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('button.active[data-span="7d"]');
    return `strip ${states.join(' → ')}`;
  });

  await check('the breaker strips take a custom range: one that ends while it was forced open ends forced open', async () => {
    const [closed, forced] = (await apiGet(`/breakers/${breaker}/transitions`)).transitions;
    const from = forced.at_ms - 60000, to = Math.floor((forced.at_ms + closed.at_ms) / 2);
    if (to <= forced.at_ms) throw new Error(`forced at ${forced.at_ms}, released at ${closed.at_ms}: no time between`);
    await page.goto(`${url}/breakers?breaker=${breaker}&from=${isoOf(from)}&to=${isoOf(to)}`, { waitUntil: 'domcontentloaded' });
    const sel = `svg[data-strip="${breaker}"][data-from="${from}"][data-to="${to}"]`;
    await page.waitForSelector(`${sel} rect`);
    await page.waitForFunction((s) => document.querySelectorAll(`${s} rect`).length === 2, {}, sel);
    const states = await page.$$eval(`${sel} rect`, (rs) => rs.map((r) => r.dataset.state));
    if (states.join() !== 'closed,forced_open') throw new Error(`strip ${states}`);
    if (await page.$('button.active[data-span]')) throw new Error('a span shown as chosen with a custom range');
    // the fields are filled after the range is drawn
    await page.waitForFunction((s) => document.querySelector(s)?.value, {}, '#range-from');
    const shown = await page.$eval('#range-from', (e) => e.value);
    if (shown !== isoOf(from).slice(0, 19).replace('T', ' ')) throw new Error(`from field ${shown}`);
    await press(page, '#range-reset');
    await page.waitForFunction(() => !location.search.includes('from='));
    await page.waitForSelector('button.active[data-span]');
    return `strip ${states.join(' → ')}`;
  });

  await check('a drag across a breaker\'s strip zooms: a narrower range in the URL, the strips redrawn over it, at least 10 s; Reset clears it', async () => {
    await page.goto(`${url}/breakers?breaker=${breaker}&span=1h`, { waitUntil: 'domcontentloaded' });
    const sel = `svg[data-strip="${breaker}"]`;
    await page.waitForSelector(`${sel} rect[data-state="forced_open"]`);
    const from = Number(await page.$eval(sel, (e) => e.dataset.from));
    await drag(page, sel, 0.5, 0.75);
    await page.waitForFunction(() => new URLSearchParams(location.search).has('from'));
    const [zf, zt] = await urlRange(page);
    if (!(zf > from && zt <= Date.now() && zt - zf > 10000 && zt - zf < 0.6 * 3600e3)) {
      throw new Error(`zoomed to ${isoOf(zf)}-${isoOf(zt)} from the hour after ${isoOf(from)}`);
    }
    // the click that ends the drag picks no breaker: this one stays picked
    if (!(await page.evaluate(() => location.search)).includes(`breaker=${breaker}`)) {
      throw new Error(`the drag's click changed the breaker picked: ${await page.evaluate(() => location.search)}`);
    }
    await page.waitForSelector(`svg[data-strip="rated"][data-from="${zf}"][data-to="${zt}"]`);
    if (await page.$('button.active[data-span]')) throw new Error('a span shown as chosen after a zoom');
    // a drag of a few pixels across a minute's range makes the shortest range, 10 s
    const [cf, ct] = [zf, zf + 60000];
    await page.goto(`${url}/breakers?breaker=${breaker}&from=${isoOf(cf)}&to=${isoOf(ct)}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`${sel}[data-from="${cf}"][data-to="${ct}"]`);
    await drag(page, sel, 0.4, 0.44);
    await page.waitForFunction((f) => Date.parse(new URLSearchParams(location.search).get('from')) !== f, {}, cf);
    const [mf, mt] = await urlRange(page);
    if (!(Math.abs(mt - mf - 10000) <= 1 && mf > cf && mt < ct)) throw new Error(`a short drag made ${isoOf(mf)}-${isoOf(mt)}`);
    await press(page, '#range-reset');
    await page.waitForFunction(() => !location.search.includes('from='));
    await page.waitForSelector('button.active[data-span]');
    return `zoomed to ${isoOf(zf)} - ${isoOf(zt)}, then ${mt - mf} ms`;
  });

  // Forced open through the API while no read of the list gets through:
  // only the event stream can tell the page (it polls every 5 s without
  // it, every 15 s beside it).
  const pushed = `${breaker}-pushed`;
  await check('a breaker forced open elsewhere shows at once by the event stream, its list reads blocked', async () => {
    await page.goto(`${url}/breakers`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('table.breakers');
    await page.waitForSelector('.title .live[data-state="live"]');
    const shows = (state) => page.waitForFunction((b, s) => document.querySelector(
      `tr[data-breaker="${b}"] .state`)?.textContent === s, { timeout: 5000 }, pushed, state);
    const [ms, blocked] = await blocking(page, '/api/v1/breakers', async () => {
      const t0 = Date.now();
      await apiCall('POST', `/breakers/${pushed}/open`);
      await shows('forced open');
      const shown = Date.now() - t0;
      if (!(await page.$('.title .live[data-state="live"]'))) throw new Error('the view is not live');
      await apiCall('POST', `/breakers/${pushed}/release`);
      await shows('closed');
      return shown;
    });
    return `shown ${ms} ms after the call; ${blocked} read(s) of the list blocked`;
  });

  await check('without the stream the Breakers page polls, says so, and still shows a forced open', async () => {
    try {
      await blocking(page, '/api/v1/live', async () => {
        await page.goto(`${url}/breakers`, { waitUntil: 'domcontentloaded' });
        await page.waitForSelector('#conn[data-state="polling"]');
        await apiCall('POST', `/breakers/${pushed}/open`);
        await page.waitForFunction((b) => document.querySelector(`tr[data-breaker="${b}"] .state`)
          ?.textContent === 'forced open', { timeout: 12000 }, pushed);
      });
    } finally {
      await apiCall('POST', `/breakers/${pushed}/release`);
    }
  });

  await check('a task\'s detail page follows its state by the event stream, its reads of the task blocked', async () => {
    const t = await apiCall('POST', '/tasks', { handler: 'nap', payload: { sleep_ms: 6000 } });
    // a task without a record yet has no lineage either (404): its page
    // is opened once the worker has recorded it, while it naps
    await until(async () => (await apiStatus(`/tasks/${t.id}`)) === 200, 'the task\'s record');
    const [seen, blocked] = await blocking(page, `/api/v1/tasks/${t.id}`, async () => {
      await page.goto(`${url}/tasks/${t.id}`, { waitUntil: 'domcontentloaded' });
      for (const want of ['running', 'succeeded']) {
        await page.waitForFunction((w) => document.querySelector('#task-state')?.textContent === w,
          { timeout: 20000 }, want);
      }
      if (!(await page.$('.title .live[data-state="live"]'))) throw new Error('the view is not live');
      if (!(await page.$('#conn[data-state="live"]'))) throw new Error('the header does not say live');
      return page.$eval('#task-attempt', (e) => Number(e.textContent));
    });
    const api = await apiGet(`/tasks/${t.id}`);
    if (api.state !== 'succeeded' || seen !== api.attempt) throw new Error(`the API has ${api.state}, attempt ${api.attempt}; shown ${seen}`);
    return `running, then succeeded; ${blocked} read(s) of the task blocked`;
  });

  await check('without the stream the task detail page polls, says so, and still follows the task', async () => {
    await blocking(page, '/api/v1/live', async () => {
      const t = await apiCall('POST', '/tasks', { handler: 'nap', payload: { sleep_ms: 3000 } });
      await until(async () => (await apiStatus(`/tasks/${t.id}`)) === 200, 'the task\'s record');
      await page.goto(`${url}/tasks/${t.id}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#conn[data-state="polling"]');
      await page.waitForFunction(() => document.querySelector('#task-state')?.textContent === 'succeeded',
        { timeout: 20000 });
    });
  });

  let deadLetter = '';
  await check('DLQ by deep link with a filter: stats, the entry, Next off on the last page', async () => {
    await page.goto(`${url}/dlq?handler=grumpy&reason=permanent_failure`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('table.dlq tbody tr[data-dlq]');
    await page.waitForSelector('#dlq-count');
    const stats = await apiGet('/dlq/stats?handler=grumpy&reason=permanent_failure');
    const shown = Number(await text(page, '#dlq-count'));
    if (shown !== stats.count || shown < 1) throw new Error(`count ${shown}, the API says ${stats.count}`);
    if (!(await text(page, '#dlq-by-handler')).includes('grumpy')) throw new Error('no grumpy by handler');
    if ((await page.$eval('#handler', (e) => e.value)) !== 'grumpy') throw new Error('filter not from the URL');
    if (!(await page.$eval('#next', (b) => b.disabled))) throw new Error('Next enabled on the last page');
    const rows = await page.$$eval('table.dlq tbody tr td:nth-child(4)', (tds) => tds.map((t) => t.textContent));
    if (rows.some((h) => h !== 'grumpy')) throw new Error(`handlers ${rows}`);
    deadLetter = await page.$eval('table.dlq tbody tr[data-dlq]', (tr) => tr.dataset.dlq);
    await shot(page, 'dlq');
    return `${shown} entries`;
  });

  await check('the DLQ filter form narrows to nothing (the URL follows)', async () => {
    await page.$eval('#grep', (e) => { e.value = ''; });
    await page.type('#grep', 'no-such-error-text');
    await page.click('form.filters button[type=submit]');
    await page.waitForFunction(() => location.search.includes('grep=no-such-error-text'));
    await page.waitForFunction(() => document.querySelector('#dlq-count')?.textContent === '0');
    await page.waitForFunction(() => !document.querySelector('table.dlq tbody tr'));
  });

  await check('the DLQ depth gauge and trend show the sampled depth', async () => {
    await page.goto(`${url}/dlq`, { waitUntil: 'domcontentloaded' });
    const depth = await until(async () => {
      const d = await apiGet('/dlq/depth?since=1h');
      return d.current && d.current.depth >= 1 && d;
    }, 'a depth sample of 1 or more');
    await page.waitForFunction(() => Number(document.querySelector('#dlq-gauge')?.dataset.depth) >= 1,
      { timeout: 20000 });
    const shown = await page.$eval('#dlq-gauge', (e) => [Number(e.dataset.depth), e.dataset.threshold]);
    if (shown[1] !== String(depth.threshold)) throw new Error(`threshold ${shown[1]}, the API says ${depth.threshold}`);
    await page.waitForFunction(() => Number(document.querySelector('#chart-dlq-depth svg')?.dataset.points) >= 1);
    await shot(page, 'dlq-depth');
    return `depth ${shown[0]}, alert at ${shown[1]}`;
  });

  await check('export the DLQ filter: one NDJSON line per entry, as droverctl dlq export writes them', async () => {
    const dir = mkdtempSync(`${tmpdir()}/drover-export-`);
    try {
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir })
        .catch(() => cdp.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: dir }));
      // a relative since: pinned to one time for the whole export
      await page.goto(`${url}/dlq?handler=grumpy&since=1d`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#dlq-export');
      await press(page, '#dlq-export');
      await page.waitForSelector('#dlq-export-status[data-state="done"]');
      const count = Number(await page.$eval('#dlq-export-status', (e) => e.dataset.count));
      // the file is there once written whole: as many lines as counted
      let lines = [];
      await until(() => {
        const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'));
        lines = file ? readFileSync(`${dir}/${file}`, 'utf8').split('\n').filter(Boolean) : [];
        return lines.length >= count;
      }, `the downloaded file with ${count} lines (${readdirSync(dir)})`);
      const stats = await apiGet('/dlq/stats?handler=grumpy&since=1d');
      if (lines.length !== count || count !== stats.count) {
        throw new Error(`${lines.length} lines, ${count} counted, the API has ${stats.count}`);
      }
      const got = lines.map((l) => JSON.parse(l));
      if (got.some((e) => e.task.handler !== 'grumpy' || !e.message_base64 || e.dlq_offset === undefined)) {
        throw new Error(`not export lines: ${lines[0].slice(0, 120)}`);
      }
      if (process.env.CONSOLE_CTL) {
        const [bin, ...args] = process.env.CONSOLE_CTL.split(' ');
        const ctl = execFileSync(bin, [...args, 'dlq', 'export', '--handler', 'grumpy', '--since', '1d'],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean)
          .map((l) => JSON.parse(l));
        const key = (e) => `${e.dlq_partition}:${e.dlq_offset}`;
        const byKey = new Map(ctl.map((e) => [key(e), e]));
        if (ctl.length !== got.length || got.some((e) => !isDeepStrictEqual(e, byKey.get(key(e))))) {
          throw new Error(`differs from droverctl dlq export (${ctl.length} lines)`);
        }
      }
      return `${count} lines`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  await check('cancel an export: nothing saved, the count so far said', async () => {
    await page.setRequestInterception(true);
    const held = [];
    const hold = (r) => {
      if (r.url().includes('/api/v1/dlq?') && r.url().includes('message=true')) {
        held.push(r.url());
        setTimeout(() => r.continue(), 2000);
      } else r.continue();
    };
    page.on('request', hold);
    try {
      await page.goto(`${url}/dlq?handler=grumpy`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#dlq-export');
      await press(page, '#dlq-export');
      await press(page, '#dlq-export-cancel');
      await page.waitForSelector('#dlq-export-status[data-state="cancelled"], #dlq-export-status[data-state="done"]');
      const st = await page.$eval('#dlq-export-status', (e) => [e.dataset.state, e.textContent]);
      if (st[0] !== 'cancelled') throw new Error(`state ${st[0]}: ${st[1]} (held ${held})`);
      return st[1].trim();
    } finally {
      page.off('request', hold);
      await page.setRequestInterception(false);
    }
  });

  await check('resubmit the filter: the dry run shows the exact count, cancel sends nothing', async () => {
    await page.goto(`${url}/dlq?handler=grumpy`, { waitUntil: 'domcontentloaded' });
    await press(page, '#resubmit-dry');
    await page.waitForSelector('#resubmit-count');
    const dry = await apiCall('POST', '/dlq/resubmit', { filter: { handler: 'grumpy' }, dry_run: true });
    const shown = Number(await page.$eval('#resubmit-count', (e) => e.dataset.count));
    const words = await text(page, '#resubmit-count');
    if (shown !== dry.resubmitted || !words.includes(`${dry.resubmitted}`)) throw new Error(`shown ${shown}, the API says ${dry.resubmitted}`);
    await page.click('.resubmit button.link');
    await page.waitForSelector('#resubmit-dry');
    const after = await apiGet('/dlq/stats?handler=grumpy');
    if (after.resubmitted) throw new Error(`${after.resubmitted} resubmitted after a cancel`);
    return `dry run: ${shown}`;
  });

  await check('resubmit the filter as a job: the dry run shows the exact count, cancel makes no job', async () => {
    await page.goto(`${url}/dlq?handler=grumpy`, { waitUntil: 'domcontentloaded' });
    await press(page, '#job-dry');
    await page.waitForSelector('#job-count');
    const dry = await apiCall('POST', '/dlq/jobs', { filter: { handler: 'grumpy' }, dry_run: true });
    const shown = Number(await page.$eval('#job-count', (e) => e.dataset.count));
    if (shown !== dry.count || shown < 1) throw new Error(`shown ${shown}, the API says ${dry.count}`);
    await page.click('.job-start button.link');
    await page.waitForSelector('#job-dry');
    const jobs = await apiGet('/dlq/jobs');
    if (jobs.jobs.length) throw new Error(`${jobs.jobs.length} jobs after a cancel`);
    return `dry run: ${shown}`;
  });

  await check('dead letter detail by deep link: reason, attempts, payload; resubmit it', async () => {
    await page.goto(`${url}/dlq/${deadLetter || deadId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#dlq-reason');
    if ((await text(page, '#dlq-reason')) !== 'permanent_failure') throw new Error(await text(page, '#dlq-reason'));
    await page.waitForSelector('table.failures tbody tr');
    if (!(await text(page, 'pre.payload')).includes('console test')) throw new Error('no payload');
    if (!(await page.$(`a[href="/tasks/${deadId}"]`))) throw new Error('no link to the task');
    await shot(page, 'dlq-entry');
    await press(page, '#resubmit-dry');
    await page.waitForSelector('#resubmit-count');
    const n = await page.$eval('#resubmit-count', (e) => e.dataset.count);
    if (n !== '1') throw new Error(`dry run count ${n}`);
    await page.click('#resubmit-confirm');
    await page.waitForSelector('#resubmit-result');
    const st = await apiGet('/dlq/stats?handler=grumpy');
    if (st.resubmitted < 1) throw new Error(`the API says ${st.resubmitted} resubmitted`);
    return await text(page, '#resubmit-result');
  });

  await check('the dead task\'s lineage links the task its resubmission sent', async () => {
    await page.goto(`${url}/tasks/${deadId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#lineage');
    const items = await page.$$eval('#lineage ol.lineage > li', (l) => l.map((e) => e.textContent));
    if (items.length < 2) throw new Error(`${items.length} tasks in the lineage`);
    if (!items[0].includes(deadId) || !items[0].includes('resubmitted as')) throw new Error(items[0]);
    const next = await page.$eval('#lineage ol.lineage > li:nth-child(2) > a', (a) => a.textContent);
    if (!items[0].includes(next)) throw new Error(`${next} is not what ${deadId}'s dead letter sent`);
    return `${items.length} tasks`;
  });

  await check('the dead task\'s timeline marks its dead letter and links the task its resubmission sent', async () => {
    await page.goto(`${url}/tasks/${deadId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#life a.mark.resub');
    const lin = await apiGet(`/tasks/${deadId}/lineage`);
    const sent = lin.tasks.find((x) => x.id === deadId).dead_letters.map((x) => x.resubmitted_as).filter(Boolean);
    const hrefs = await page.$$eval('#life a.mark.resub', (l) => l.map((a) => a.getAttribute('href')));
    if (!sent.length || !isDeepStrictEqual(hrefs, sent.map((x) => `/tasks/${x}`))) throw new Error(`marks ${hrefs}, the API ${sent}`);
    if (!(await page.$(`#life a.mark.dlq`))) throw new Error('no dead letter mark');
    await page.$eval('#life a.mark.resub', (a) => a.click());
    await page.waitForFunction((id) => location.pathname === `/tasks/${id}`, { timeout: WAIT }, sent[0]);
    return `resubmitted as ${sent[0]}`;
  });

  await check('failures: grumpy\'s group by deep link, its samples, retry the group as a job (dry run, then for real)', async () => {
    // the entry resubmitted above failed again: a second dead letter in the group
    const groups = await until(async () => {
      const r = await apiGet('/dlq/groups?handler=grumpy');
      return r.groups.length === 1 && r.groups[0].count >= 2 && r;
    }, 'grumpy\'s group counts two dead letters');
    const g = groups.groups[0];
    await page.goto(`${url}/dlq/groups?handler=grumpy`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`table.groups tbody tr[data-group="${g.id}"]`);
    const rows = await page.$$eval('table.groups tbody tr', (trs) => trs.map((t) => t.dataset.group));
    if (rows.length !== 1) throw new Error(`groups ${rows}`);
    const shown = await text(page, `tr[data-group="${g.id}"] a.count`);
    if (Number(shown) !== g.count) throw new Error(`count ${shown}, the API says ${g.count}`);
    if (!(await page.$(`tr[data-group="${g.id}"] a.sample`))) throw new Error('no sample link');
    await shot(page, 'dlq-groups');
    await page.click(`tr[data-group="${g.id}"] a.count`);
    await page.waitForFunction((id) => location.pathname === `/dlq/groups/${id}`, {}, g.id);
    await page.waitForSelector('#group-count');
    if ((await text(page, '#group-message')) !== g.message) throw new Error(await text(page, '#group-message'));
    if (!(await page.$(`tr[data-sample] a[href="/dlq/${g.samples[0].id}"]`))) throw new Error('no link to the newest sample');
    await shot(page, 'dlq-group');
    const { id, n, job } = await jobFromPage(page, { group: g.id });
    const sent = Number(await page.$eval('#job-counts', (e) => e.dataset.sent));
    if (sent !== n || job.resubmitted !== n) throw new Error(`shown ${sent}, the API says ${job.resubmitted}, dry run ${n}`);
    if ((await text(page, '#job-pct')) !== '100%') throw new Error(await text(page, '#job-pct'));
    if (await page.$('#job-pause')) throw new Error('Pause shown on a job that is done');
    await shot(page, 'dlq-job');
    return `job ${id}: ${sent} resubmitted`;
  });

  await check('jobs: a slow job paused and cancelled from its page; the jobs list shows it', async () => {
    const j = await apiCall('POST', '/dlq/jobs', { filter: { handler: 'grumpy' }, rate: 0.2 });
    await page.goto(`${url}/dlq/jobs/${j.id}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#job-state[data-state="running"]', { timeout: WAIT });
    await page.waitForSelector('#job-progress');
    await page.click('#job-pause');
    await page.waitForSelector('#job-state[data-state="paused"]', { timeout: WAIT });
    await page.waitForSelector('#job-resume');
    await page.click('#job-cancel');
    await page.waitForSelector('#job-state[data-state="cancelled"]', { timeout: WAIT });
    if (await page.$('#job-cancel')) throw new Error('Cancel shown on a cancelled job');
    if ((await apiGet(`/dlq/jobs/${j.id}`)).state !== 'cancelled') throw new Error('the API disagrees');
    await page.goto(`${url}/dlq/jobs`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`table.jobs tr[data-job="${j.id}"][data-state="cancelled"]`);
    await shot(page, 'dlq-jobs');
    return `job ${j.id} cancelled`;
  });

  await check('a job\'s failures on its page: entries it could not resubmit, with why, as the API has them', async () => {
    // max attempts 1 without reset: every dead letter has made its one
    // attempt, so each entry fails to build (docs/dlq.md: failures)
    const j = await apiCall('POST', '/dlq/jobs', { filter: { handler: 'grumpy' }, max_attempts: 1 });
    const ended = await until(async () => {
      const x = await apiGet(`/dlq/jobs/${j.id}`);
      return ['done', 'failed', 'cancelled'].includes(x.state) && x;
    }, 'the job ended');
    const f = await apiGet(`/dlq/jobs/${j.id}/failures`);
    if (!f.failures_total || !f.failures.length) throw new Error(`no failures: ${JSON.stringify(ended)}`);
    await page.goto(`${url}/dlq/jobs/${j.id}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('table.job-failures tbody tr[data-dead-letter]');
    const total = Number(await page.$eval('#job-failures-total', (e) => e.dataset.total));
    const rows = await page.$$eval('table.job-failures tbody tr', (trs) =>
      trs.map((t) => [t.dataset.deadLetter, t.querySelector('td.err').textContent]));
    if (total !== f.failures_total || rows.length !== f.failures.length) {
      throw new Error(`page: ${total} total, ${rows.length} rows; API: ${f.failures_total}, ${f.failures.length}`);
    }
    const first = f.failures[0];
    if (rows[0][0] !== first.dead_letter_id || rows[0][1] !== first.error) throw new Error(`first row ${rows[0]}`);
    if (!first.error.includes('cannot resubmit')) throw new Error(first.error);
    await page.click(`table.job-failures a[href="/dlq/${first.dead_letter_id}"]`);
    await page.waitForFunction((i) => location.pathname === `/dlq/${i}`, {}, first.dead_letter_id);
    return `${total} failures: ${first.error}`;
  });

  // deadLetterOf(id): the dead letter of task id once the worker has
  // dead-lettered it (the handler grumpy fails for good), read through the API
  const deadLetterOf = (id) => until(() => apiGet(`/dlq/${id}`).catch(() => null),
    `task ${id} in the DLQ`);

  await check('retry a dead task with new parameters: preview (dry run), then retry; the API has them', async () => {
    await page.goto(`${url}/tasks/${deadId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#retry-set');
    if (!(await page.$eval('#retry-send', (b) => b.disabled))) throw new Error('Retry enabled before a preview');
    await page.type('#retry-set', 'size.width=640\n{"quality": 80}');
    await page.type('#retry-priority', '9');
    await page.type('#retry-max-attempts', '2');
    const body = { set: ['size.width=640', { quality: 80 }], priority: 9, max_attempts: 2 };
    const audits = async () => (await apiGet(`/audit?action=task.retry&target=${deadId}`)).records.length;
    const before = await audits();
    await press(page, '#retry-preview');
    await page.waitForSelector('#retry-dry');
    const want = await apiCall('POST', `/tasks/${deadId}/retry`, { ...body, dry_run: true });
    const shown = JSON.parse(await text(page, '#retry-dry-payload'));
    if (!isDeepStrictEqual(shown, want.task.payload) || shown.quality !== 80 || shown.size?.width !== 640 ||
        shown.from !== 'console test') {
      throw new Error(`preview payload ${JSON.stringify(shown)}, the API's ${JSON.stringify(want.task.payload)}`);
    }
    if ((await text(page, '#retry-dry-priority')) !== '9' || (await text(page, '#retry-dry-max-attempts')) !== '2') {
      throw new Error(`preview priority ${await text(page, '#retry-dry-priority')}`);
    }
    // an edit after the preview asks for a new one
    await page.type('#retry-max-attempts', '0');
    await page.waitForSelector('#retry-dry', { hidden: true });
    if (!(await page.$eval('#retry-send', (b) => b.disabled))) throw new Error('Retry enabled after an edit');
    await page.$eval('#retry-max-attempts', (e) => { e.value = ''; });
    await page.type('#retry-max-attempts', '2');
    await press(page, '#retry-preview');
    await page.waitForSelector('#retry-dry');
    if ((await audits()) !== before) throw new Error('a dry run was audited (sent?)');
    await shot(page, 'task-retry');
    await press(page, '#retry-send');
    await page.waitForSelector('#retry-result a.task-link');
    const id = await text(page, '#retry-result a.task-link');
    if (!/^[0-9A-Z]{26}$/.test(id) || id === deadId) throw new Error(`new task ${id}`);
    // the new task runs (grumpy: it fails for good) and its dead letter
    // holds the task as sent
    const e = await deadLetterOf(id);
    if (e.task.priority !== 9 || e.task.max_attempts !== 2 || e.task.payload.quality !== 80 ||
        e.task.payload.size?.width !== 640 || e.task.origin?.dead_letter_id === undefined) {
      throw new Error(`the API has ${JSON.stringify(e.task).slice(0, 300)}`);
    }
    await page.click('#retry-result a.task-link');
    await page.waitForFunction((i) => location.pathname === `/tasks/${i}`, {}, id);
    await page.waitForSelector('#task-state');
    return `task ${id}: priority ${e.task.priority}, payload ${JSON.stringify(e.task.payload)}`;
  });

  await check('a retry with a bad patch line shows the error, sends nothing', async () => {
    await page.goto(`${url}/tasks/${deadId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#retry-set');
    await page.type('#retry-set', '{"quality": ');
    await press(page, '#retry-preview');
    await page.waitForSelector('#retry p.error');
    if (!(await text(page, '#retry p.error')).includes('not JSON')) throw new Error(await text(page, '#retry p.error'));
    if (await page.$('#retry-dry')) throw new Error('a preview of a bad patch');
  });

  await check('resubmit a dead letter again with force, a patch and a priority: dry run, then the API has them', async () => {
    await page.goto(`${url}/dlq/${deadLetter || deadId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#dlq-reason');
    // resubmitted before (above): without force the dry run counts none
    await press(page, '#resubmit-dry');
    await page.waitForSelector('#resubmit-count');
    if ((await page.$eval('#resubmit-count', (e) => e.dataset.count)) !== '0') throw new Error('counted without force');
    await page.click('.resubmit button.link');
    await page.click('.resubmit details.options summary');
    await page.type('#resubmit-set', 'console.forced=true');
    await page.type('#resubmit-priority', '8');
    await page.click('#resubmit-force');
    await press(page, '#resubmit-dry');
    await page.waitForSelector('#resubmit-count[data-count="1"]');
    const opts = await text(page, '#resubmit-options');
    if (opts !== '1 payload patch, priority 8, forced') throw new Error(`options said: ${opts}`);
    if (!(await page.$eval('#resubmit-priority', (e) => e.matches(':disabled')))) throw new Error('options editable after the dry run');
    await shot(page, 'dlq-entry-resubmit');
    await page.click('#resubmit-confirm');
    await page.waitForSelector('#resubmit-result');
    const m = (await text(page, '#resubmit-result')).match(/new task ([0-9A-Z]{26})/);
    if (!m) throw new Error(await text(page, '#resubmit-result'));
    const e = await deadLetterOf(m[1]);
    if (e.task.priority !== 8 || e.task.payload.console?.forced !== true || e.task.payload.from !== 'console test') {
      throw new Error(`the API has ${JSON.stringify(e.task).slice(0, 300)}`);
    }
    return `task ${m[1]}: priority 8, ${JSON.stringify(e.task.payload)}`;
  });

  await check('resubmit the filter as a job with a priority: dry run, job, its spec says so', async () => {
    await page.goto(`${url}/dlq?handler=grumpy`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#job-dry');
    await page.click('.job-start details.options summary');
    await page.type('#job-priority', '7');
    await page.type('#job-max-attempts', '3');
    if (await page.$('#job-force')) throw new Error('force offered for a job (the API refuses it)');
    const body = { filter: { handler: 'grumpy' }, priority: 7, max_attempts: 3 };
    // the tasks the checks above resubmitted die on their own time: wait
    // until the DLQ holds still (the same dry-run count twice, 1 s apart)
    let last = -1;
    await until(async () => {
      const c = (await apiCall('POST', '/dlq/jobs', { ...body, dry_run: true })).count;
      if (c === last) return true;
      last = c;
      await new Promise((r) => setTimeout(r, 1000));
      return false;
    }, 'the same dry-run count twice');
    const { id, n, job } = await jobFromPage(page, body);
    // dead letters that came after the dry run are in the job too
    if (job.spec.priority !== 7 || job.spec.max_attempts !== 3 || job.resubmitted < n) {
      throw new Error(`the API's job: ${JSON.stringify(job.spec)}, ${job.resubmitted} resubmitted`);
    }
    if (!(await text(page, '#job-with')).includes('priority 7')) throw new Error(await text(page, '#job-with'));
    return `job ${id}: ${n} resubmitted with priority 7`;
  });

  await check('audit by deep link shows the resubmission; the actor filter works', async () => {
    await page.goto(`${url}/audit?action=dlq.`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-action="dlq.resubmit"]');
    const actions = await page.$$eval('table.audit tbody tr', (trs) => trs.map((t) => t.dataset.action));
    if (actions.some((a) => !a.startsWith('dlq.'))) throw new Error(`actions ${actions}`);
    await shot(page, 'audit');
    await page.goto(`${url}/audit`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-action^="breaker."]');
    await page.type('#actor', 'nobody-at-all');
    await page.click('form.filters button[type=submit]');
    await page.waitForFunction(() => location.search === '?actor=nobody-at-all');
    await page.waitForFunction(() => !document.querySelector('table.audit tbody tr'));
    return `${actions.length} dlq records`;
  });

  await check('retries by deep link: per handler counts, attempt bars, failure classes', async () => {
    const count = (h, what) => page.$eval(`section[data-handler="${h}"] [data-count="${what}"]`,
      (e) => Number(e.textContent)).catch(() => 0);
    // the counters come with the worker's next task-state batch
    await until(async () => {
      await page.goto(`${url}/retries?since=1h`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('section[data-handler="grumpy"]');
      return (await count('grumpy', 'dead')) >= 1 && (await count('echo', 'succeeded')) >= 1;
    }, 'grumpy dead and echo succeeded in the analytics');
    if (await count('grumpy', 'succeeded')) throw new Error('grumpy succeeded?');
    await page.waitForSelector('section[data-handler="grumpy"] g[data-attempt="1"] rect.dead');
    await page.waitForSelector('section[data-handler="echo"] g[data-attempt="1"] rect.ok');
    const permanent = await text(page, 'section[data-handler="grumpy"] tr[data-class="permanent"] td.num');
    if (Number(permanent) < 1) throw new Error(`permanent failures ${permanent}`);
    await shot(page, 'retries');
    const detail = `grumpy: ${await count('grumpy', 'dead')} dead`;
    await page.goto(`${url}/retries?handler=echo`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('section[data-handler="echo"]');
    if (await page.$('section[data-handler="grumpy"]')) throw new Error('the handler filter did not narrow');
    return detail;
  });

  await check('audit pages by cursor: Next and Previous with ?limit=2', async () => {
    const rows = () => page.$$eval('table.audit tbody tr', (trs) => trs.map((t) => t.textContent));
    await page.goto(`${url}/audit?limit=2`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('table.audit tbody tr').length === 2);
    const first = await rows();
    if (await page.$eval('#next', (b) => b.disabled)) throw new Error('Next off with more records');
    await page.click('#next');
    await page.waitForFunction(() => location.search.includes('cursor=') && location.search.includes('limit=2'));
    await page.waitForFunction((f) => {
      const r = [...document.querySelectorAll('table.audit tbody tr')].map((t) => t.textContent);
      return r.length > 0 && !r.some((x) => f.includes(x));
    }, {}, first);
    await page.click('.pager .prev');
    await page.waitForFunction(() => location.search === '?limit=2');
    await page.waitForFunction((f) => {
      const r = [...document.querySelectorAll('table.audit tbody tr')].map((t) => t.textContent);
      return r.join('|') === f.join('|');
    }, {}, first);
  });

  await check('schedules page by cursor: Next and Previous with ?limit=1', async () => {
    const ids = () => page.$$eval('table.schedules tbody tr', (trs) => trs.map((t) => t.dataset.schedule));
    await page.goto(`${url}/schedules?limit=1`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('table.schedules tbody tr').length === 1);
    const [first] = await ids();
    if (await page.$eval('#next', (b) => b.disabled)) throw new Error('Next off with a second schedule');
    await page.click('#next');
    await page.waitForFunction((f) => {
      const r = [...document.querySelectorAll('table.schedules tbody tr')].map((t) => t.dataset.schedule);
      return location.search.includes('cursor=') && r.length === 1 && r[0] !== f;
    }, {}, first);
    const [second] = await ids();
    if (!(first < second)) throw new Error(`not in id order: ${first}, ${second}`);
    await page.click('.pager .prev');
    await page.waitForFunction((f) => location.search === '?limit=1' &&
      document.querySelector('table.schedules tbody tr')?.dataset.schedule === f, {}, first);
    return `${first}, then ${second}`;
  });

  await check('disable a schedule from its row, enable it from its detail page', async () => {
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-schedule="nightly"] button.toggle.disable');
    await page.waitForFunction(() => /\d{4}-\d\d-\d\d/.test(
      document.querySelector('tr[data-schedule="nightly"] td.next')?.textContent));
    await shot(page, 'schedules');
    await page.click('tr[data-schedule="nightly"] button.toggle');
    await page.waitForSelector('#schedule-result');
    await until(async () => (await apiGet('/schedules/nightly')).enabled === false, 'the API says disabled');
    await page.waitForSelector('tr[data-schedule="nightly"] button.toggle.enable');
    await page.click('tr[data-schedule="nightly"] a');
    await page.waitForSelector('#schedule-state');
    if (new URL(page.url()).pathname !== '/schedules/nightly') throw new Error(page.url());
    await page.click('button.toggle.enable');
    await page.waitForFunction(() => document.querySelector('#schedule-state')?.textContent === 'enabled');
    await shot(page, 'schedule');
    await until(async () => (await apiGet('/schedules/nightly')).enabled === true, 'the API says enabled');
    const audit = await apiGet('/audit?target=nightly');
    const acts = audit.records.map((r) => r.action);
    if (!acts.includes('schedule.enable') || !acts.includes('schedule.disable')) throw new Error(`audit ${acts}`);
  });

  await check("a schedule's page lists its next five fire times, as the API computes them", async () => {
    await page.goto(`${url}/schedules/nightly`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('#schedule-next li').length === 5);
    const shown = await page.$$eval('#schedule-next li', (ls) => ls.map((l) => Number(l.dataset.ms)));
    const want = (await apiGet('/schedules/nightly/next?count=5')).times.map((t) => t.unix_ms);
    if (shown.join() !== want.join()) throw new Error(`page ${shown} api ${want}`);
    if (!shown.every((t, i) => t > Date.now() - 60000 && (i === 0 || t > shown[i - 1]))) throw new Error(`not ahead and rising: ${shown}`);
    return `${new Date(shown[0]).toISOString()} first`;
  });

  await check('trigger a schedule now from its row: the task id, linked', async () => {
    const before = (await apiGet('/schedules/nightly')).stats?.fires ?? 0;
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-schedule="nightly"] button.trigger');
    await page.click('tr[data-schedule="nightly"] button.trigger');
    await page.waitForSelector('#schedule-result a.task-link');
    const id = await text(page, '#schedule-result a.task-link');
    if (!/^[0-9A-Z]{26}$/.test(id)) throw new Error(`task id ${id}`);
    await until(async () => ((await apiGet('/schedules/nightly')).stats?.fires ?? 0) > before, 'the leader fired it');
    const audit = await apiGet('/audit?target=nightly');
    if (!audit.records.some((r) => r.action === 'schedule.trigger')) throw new Error('no schedule.trigger audit record');
    // the task page of a task no worker has recorded yet is a 404, which
    // the last check counts as a failed request: follow the link once it ran
    await until(() => apiGet(`/tasks/${id}`).then(() => true, () => false), 'a worker recorded the task');
    await page.click('#schedule-result a.task-link');
    await page.waitForFunction((i) => location.pathname === `/tasks/${i}`, {}, id);
  });

  // typeIn(page, sel, value): the field's text replaced by value
  const typeIn = async (page, sel, value) => {
    await page.click(sel, { clickCount: 3 });
    await page.keyboard.press('Backspace');
    await page.type(sel, value);
  };
  const added = 'console-added';

  await check('add a schedule from the Schedules page: the API has every member', async () => {
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await press(page, '#schedule-add-open');
    await page.waitForSelector('#schedule-add');
    await page.type('#schedule-id', added);
    await page.type('#schedule-cron', '0 3 * * *');
    await page.type('#schedule-handler', 'echo');
    await page.type('#schedule-timezone', 'UTC');
    await page.type('#schedule-payload', '{"from": "the page"}');
    await page.type('#schedule-priority', '7');
    await page.select('#schedule-catchup', 'once');
    await page.select('#schedule-overlap', 'skip');
    await page.click('#schedule-enabled'); // off: it is not to fire
    await page.type('#schedule-labels', '{"team": "ops"}');
    // the retry policy and timing groups fold away: unfold them
    await press(page, '#schedule-retry summary');
    await page.waitForFunction(() => document.querySelector('#schedule-retry').open);
    // the policies come from the OpenAPI document
    await page.waitForSelector('#schedule-policies option[value="conservative"]');
    await page.type('#schedule-policy', 'conservative');
    await page.type('#schedule-max_attempts', '3');
    await press(page, '#schedule-timing summary');
    await page.type('#schedule-jitter', '30s');
    await page.type('#schedule-catchup_window', '2h');
    await page.type('#schedule-deadline', '600000');
    await press(page, '#schedule-save');
    await page.waitForFunction(() => document.querySelector('#schedule-result')?.textContent.includes('added'));
    const s = await apiGet(`/schedules/${added}`);
    const d = s.definition;
    const want = { cron: '0 3 * * *', handler: 'echo', timezone: 'UTC', priority: 7, catchup: 'once',
      overlap: 'skip', enabled: false, payload: { from: 'the page' }, labels: { team: 'ops' },
      policy: 'conservative', max_attempts: 3, jitter: 30000, catchup_window: 7200000, deadline: 600000 };
    for (const [k, v] of Object.entries(want)) {
      if (!isDeepStrictEqual(d[k], v)) throw new Error(`${k}: ${JSON.stringify(d[k])}, not ${JSON.stringify(v)}`);
    }
    if (s.source !== 'runtime') throw new Error(`source ${s.source}`);
    // its row has edit and delete; a schedule of the config file has none
    await page.waitForSelector(`tr[data-schedule="${added}"] button.edit`);
    if (await page.$('tr[data-schedule="nightly"] button.edit, tr[data-schedule="nightly"] button.delete')) {
      throw new Error('edit or delete on a schedule of the config file');
    }
    await shot(page, 'schedule-add');
    return JSON.stringify(d);
  });

  await check('a bad cron from the page shows the API\'s problem next to the cron field', async () => {
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await press(page, '#schedule-add-open');
    await page.type('#schedule-id', 'console-bad');
    await page.type('#schedule-cron', 'every day');
    await page.type('#schedule-handler', 'echo');
    expected.push('400 POST /api/v1/schedules');
    await press(page, '#schedule-save');
    const sel = '#schedule-add .field[data-field="cron"] p.error';
    await page.waitForSelector(sel);
    const said = await text(page, sel);
    if (!said.startsWith('400') || !said.includes('cron')) throw new Error(said);
    if (await page.$('#schedule-add .field[data-field="handler"] p.error')) throw new Error('a problem under handler');
    if ((await apiStatus('/schedules/console-bad')) !== 404) throw new Error('the API has console-bad');
    await page.click('#schedule-add button.link'); // Cancel
    await page.waitForSelector('#schedule-add-open');
    return said;
  });

  await check('a retry policy the API does not take and a bad duration show under their fields, groups unfolded', async () => {
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await press(page, '#schedule-add-open');
    await page.type('#schedule-id', 'console-bad');
    await page.type('#schedule-cron', '0 3 * * *');
    await page.type('#schedule-handler', 'echo');
    await press(page, '#schedule-timing summary');
    await page.type('#schedule-jitter', 'soon');
    await press(page, '#schedule-timing summary'); // folded again
    let posts = 0;
    const count = (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/schedules')) posts++; };
    page.on('request', count);
    try {
      await press(page, '#schedule-save');
      const jit = '#schedule-add .field[data-field="jitter"] p.error';
      await page.waitForSelector(jit, { visible: true });
      if (posts) throw new Error('a bad duration was sent');
      // the group's toggle event is dispatched after the click that folds
      // it, so its open state may settle a moment after the problem shows
      await page.waitForFunction(() => document.querySelector('#schedule-add #schedule-timing')?.open, { timeout: 5000 })
        .catch(() => { throw new Error('timing stayed folded'); });
      const j = await text(page, jit);
      await typeIn(page, '#schedule-jitter', '1m');
      await press(page, '#schedule-retry summary');
      await page.type('#schedule-policy', 'nope');
      await press(page, '#schedule-retry summary'); // folded again
      expected.push('400 POST /api/v1/schedules');
      await press(page, '#schedule-save');
      const sel = '#schedule-add .field[data-field="policy"] p.error';
      await page.waitForSelector(sel, { visible: true });
      const said = await text(page, sel);
      if (!said.startsWith('400') || !said.includes('policy')) throw new Error(said);
      if (posts !== 1) throw new Error(`${posts} POSTs`);
      if ((await apiStatus('/schedules/console-bad')) !== 404) throw new Error('the API has console-bad');
      await page.click('#schedule-add button.link'); // Cancel
      return `${j}; ${said}`;
    } finally {
      page.off('request', count);
    }
  });

  await check('change a schedule\'s cron and labels from the page: the API has them, the rest kept', async () => {
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await press(page, `tr[data-schedule="${added}"] button.edit`);
    await page.waitForSelector('#schedule-edit');
    if ((await page.$eval('#schedule-cron', (e) => e.value)) !== '0 3 * * *') throw new Error('the form is not the schedule\'s');
    await typeIn(page, '#schedule-cron', '30 4 * * 1');
    await typeIn(page, '#schedule-labels', '{"tier": "gold"}');
    await press(page, '#schedule-save');
    await page.waitForFunction(() => document.querySelector('#schedule-result')?.textContent.includes('changed'));
    const d = (await apiGet(`/schedules/${added}`)).definition;
    if (d.cron !== '30 4 * * 1') throw new Error(`cron ${d.cron}`);
    if (!isDeepStrictEqual(d.labels, { tier: 'gold' })) throw new Error(`labels ${JSON.stringify(d.labels)}`);
    if (d.priority !== 7 || d.enabled !== false || d.payload?.from !== 'the page') throw new Error(JSON.stringify(d));
    if (d.policy !== 'conservative' || d.max_attempts !== 3 || d.catchup_window !== 7200000) {
      throw new Error(`retry or timing not kept: ${JSON.stringify(d)}`);
    }
    await page.waitForFunction((i) => document.querySelector(`tr[data-schedule="${i}"] td.mono`)?.textContent
      .startsWith('30 4 * * 1'), {}, added);
    const audit = await apiGet(`/audit?action=schedule.&target=${added}`);
    const acts = audit.records.map((r) => r.action);
    if (!acts.includes('schedule.add') || !acts.includes('schedule.update')) throw new Error(`audit ${acts}`);
    return `cron ${d.cron}`;
  });

  await check('change a schedule\'s retry policy and timing from the page; members emptied go back to their defaults', async () => {
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await press(page, `tr[data-schedule="${added}"] button.edit`);
    await page.waitForSelector('#schedule-edit');
    // a schedule with a policy and a jitter: both groups unfolded, its values in them
    if (!(await page.$eval('#schedule-retry', (e) => e.open)) || !(await page.$eval('#schedule-timing', (e) => e.open))) {
      throw new Error('a group with values is folded');
    }
    const shown = await page.$eval('#schedule-edit', (f) => ['policy', 'max_attempts', 'jitter', 'catchup_window',
      'deadline'].map((k) => f.querySelector(`#schedule-${k}`).value).join(' '));
    if (shown !== 'conservative 3 30s 2h 10m') throw new Error(`the form shows ${shown}`);
    await shot(page, 'schedule-edit');
    let body;
    const seen = (r) => { if (r.method() === 'PATCH') body = JSON.parse(r.postData()); };
    page.on('request', seen);
    try {
      await typeIn(page, '#schedule-policy', 'aggressive');
      await typeIn(page, '#schedule-max_attempts', '');
      await typeIn(page, '#schedule-jitter', '');
      await typeIn(page, '#schedule-deadline', '1h');
      await page.select('#schedule-overlap', '');
      await press(page, '#schedule-save');
      await page.waitForFunction(() => document.querySelector('#schedule-result')?.textContent.includes('changed'));
    } finally {
      page.off('request', seen);
    }
    const want = { policy: 'aggressive', max_attempts: null, jitter: null, deadline: 3600000, overlap: null };
    if (!isDeepStrictEqual(body, want)) throw new Error(`sent ${JSON.stringify(body)}`);
    const d = (await apiGet(`/schedules/${added}`)).definition;
    const now = { policy: d.policy, max_attempts: d.max_attempts, jitter: d.jitter, deadline: d.deadline,
      overlap: d.overlap, catchup_window: d.catchup_window, cron: d.cron };
    const exp = { policy: 'aggressive', max_attempts: 0, jitter: 0, deadline: 3600000, overlap: 'allow',
      catchup_window: 7200000, cron: '30 4 * * 1' };
    if (!isDeepStrictEqual(now, exp)) throw new Error(`the API has ${JSON.stringify(now)}`);
    return JSON.stringify(body);
  });

  await check('delete a schedule from the page after a confirmation: the API answers 404', async () => {
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await press(page, `tr[data-schedule="${added}"] button.delete`);
    await page.waitForSelector(`tr[data-schedule="${added}"] button.delete-confirm`);
    if ((await apiStatus(`/schedules/${added}`)) !== 200) throw new Error('gone before the confirmation');
    await press(page, `tr[data-schedule="${added}"] button.delete-confirm`);
    await page.waitForFunction(() => document.querySelector('#schedule-result')?.textContent.includes('deleted'));
    const st = await apiStatus(`/schedules/${added}`);
    if (st !== 404) throw new Error(`the API answers ${st}`);
    await page.waitForFunction((i) => !document.querySelector(`tr[data-schedule="${i}"]`), {}, added);
  });

  await check('the schedule timeline: fires are bars coloured by outcome, linked to their task', async () => {
    // nightly's fire (triggered above) succeeded; sulky's fails for good
    const t = await apiCall('POST', '/schedules/sulky/trigger');
    const outcome = async (id, task) => {
      const f = (await apiGet(`/schedules/${id}/fires?since=1h`)).fires;
      return f.find((x) => !task || x.task_id === task)?.outcome;
    };
    await until(async () => (await outcome('nightly')) === 'succeeded', 'nightly\'s fire succeeded (API)');
    await until(async () => (await outcome('sulky', t.id)) === 'dead', 'sulky\'s fire is dead (API)');
    await page.goto(`${url}/schedules`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#timeline-link');
    await page.click('#timeline-link');
    await page.waitForSelector('g.gantt-row[data-schedule="nightly"] rect.gantt-bar[data-outcome="succeeded"]');
    await page.click('.ranges button[data-range="6h"]');
    await page.waitForFunction(() => location.search.includes('range=6h'));
    const bad = `g.gantt-row[data-schedule="sulky"] rect.gantt-bar[data-task="${t.id}"]`;
    await page.waitForSelector(bad);
    const fill = (sel) => page.$eval(sel, (e) => getComputedStyle(e).fill);
    const good = await fill('g.gantt-row[data-schedule="nightly"] rect.gantt-bar[data-outcome="succeeded"]');
    const dead = await fill(bad);
    if (good !== await fill('#gantt-legend rect.gantt-bar.succeeded')) throw new Error(`succeeded bar ${good}`);
    if (dead !== await fill('#gantt-legend rect.gantt-bar.dead')) throw new Error(`dead bar ${dead}`);
    if (good === dead) throw new Error(`one colour for both outcomes: ${good}`);
    const w = await page.$eval(bad, (e) => e.getBBox().width);
    if (w < 3) throw new Error(`bar ${w} px wide`);
    if (!await page.$('g.gantt-row[data-schedule="nightly"] line.gantt-next')) throw new Error('no next fire mark');
    await shot(page, 'schedule-timeline');
    // deep link with the range; a bar leads to its task
    await page.goto(`${url}/schedules/timeline?range=24h`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(bad);
    if (!await page.$('.ranges button.active[data-range="24h"]')) throw new Error('range not from the URL');
    await page.click(bad);
    await page.waitForFunction((i) => location.pathname === `/tasks/${i}`, {}, t.id);
    return `${good} vs ${dead}`;
  });

  await check('the schedule timeline takes a custom range from the URL, zooms by a drag, and resets', async () => {
    const fire = (await apiGet('/schedules/sulky/fires?since=1h')).fires.find((f) => f.task_id);
    const from = fire.scheduled_ms - 60000, to = fire.scheduled_ms + 60000;
    const bar = `g.gantt-row[data-schedule="sulky"] rect.gantt-bar[data-task="${fire.task_id}"]`;
    await page.goto(`${url}/schedules/timeline?from=${isoOf(from)}&to=${isoOf(to)}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`#gantt[data-from="${from}"][data-to="${to}"]`);
    await page.waitForSelector(bar);
    if (await page.$('.ranges button.active')) throw new Error('a preset shown as chosen with a custom range');
    // the fields are filled after the range is drawn
    await page.waitForFunction((s) => document.querySelector(s)?.value, {}, '#range-from');
    const shown = await page.$eval('#range-from', (e) => e.value);
    if (shown !== isoOf(from).slice(0, 19).replace('T', ' ')) throw new Error(`from field ${shown}`);
    // a range before the fire: not drawn
    await page.goto(`${url}/schedules/timeline?from=${isoOf(from - 600000)}&to=${isoOf(from - 300000)}`,
      { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`#gantt[data-from="${from - 600000}"]`);
    if (await page.$(bar)) throw new Error('a fire outside the range is drawn');
    // zoom: a drag across the lanes (from x 170) narrows the range, stays on the page
    await page.goto(`${url}/schedules/timeline?from=${isoOf(from)}&to=${isoOf(to)}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(bar);
    await drag(page, '#gantt', 0.2, 0.6, 170);
    await page.waitForFunction((f) => Date.parse(new URLSearchParams(location.search).get('from')) > f, {}, from);
    const [zf, zt] = await urlRange(page);
    if (!(zf > from && zt < to && zt - zf < (to - from) * 0.6)) throw new Error(`zoomed to ${zf}-${zt} from ${from}-${to}`);
    if (!(await page.evaluate(() => location.pathname)).endsWith('/schedules/timeline')) throw new Error('left the timeline');
    await page.waitForSelector(`#gantt[data-from="${zf}"][data-to="${zt}"]`);
    await press(page, '#range-reset');
    await page.waitForFunction(() => !location.search.includes('from='));
    await page.waitForSelector('.ranges button.active');
    return `zoomed to ${((zt - zf) / 1000).toFixed(0)} s of ${(to - from) / 1000} s`;
  });

  await check('times switch to local', async () => {
    await page.select('header .zone select', 'local');
    await page.waitForFunction(() => !document.querySelector('.live .muted')?.textContent.includes('UTC'));
  });

  await check('the history view renders real points after tasks ran', async () => {
    // the workers' counts arrive with their next flush
    const h = await until(async () => {
      const r = await apiGet('/history?since=1h');
      return r.total.attempts >= 2 && r;
    }, 'the history counted the tasks');
    await page.goto(`${url}/history?range=1h`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#history-total [data-count="attempts"]');
    const shown = Number(await text(page, '#history-total [data-count="attempts"]'));
    if (shown < h.total.attempts) throw new Error(`${shown} attempts shown, the API has ${h.total.attempts}`);
    const pts = Number(await page.$eval('#chart-throughput svg', (e) => e.dataset.points));
    if (pts !== h.points.length) throw new Error(`${pts} points drawn, the API has ${h.points.length}`);
    if (!(await page.$('#chart-throughput svg polyline, #chart-throughput svg circle'))) {
      throw new Error('no throughput line');
    }
    if (!(await page.$('#chart-duration svg polyline, #chart-duration svg circle'))) {
      throw new Error('no duration line');
    }
    await shot(page, 'history');
    // deep link: band and range from the URL
    await page.goto(`${url}/history?band=high&range=7d`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#history-total');
    const band = await page.$eval('#band', (e) => e.value);
    const active = await page.$eval('.ranges button.active', (e) => e.dataset.range);
    if (band !== 'high' || active !== '7d') throw new Error(`band ${band}, range ${active}`);
    return `${shown} attempts over ${pts} points`;
  });

  await check('a marker added through the API shows on the history charts', async () => {
    await apiCall('POST', '/markers', { label: 'console-v1', note: 'from the browser test' });
    await page.goto(`${url}/history?range=1h`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#chart-throughput g.marker[data-label="console-v1"] line');
    await page.waitForSelector('ul.markers li[data-label="console-v1"]');
  });

  await check('the relative time choice changes a rendered time', async () => {
    const sel = 'ul.markers li[data-label="console-v1"] .when';
    const before = await text(page, sel);
    if (!/\d\d:\d\d/.test(before)) throw new Error(`not a clock time: ${before}`);
    await page.select('header .zone select', 'relative');
    await page.waitForFunction((s) => /ago|^now$/.test(document.querySelector(s)?.textContent || ''), {}, sel);
    const after = await text(page, sel);
    await page.select('header .zone select', 'utc');
    return `${before} -> ${after}`;
  });

  await check('a deploy marker changed from the History page (label, note emptied, time), a bad label\'s problem under its field', async () => {
    const m = await apiCall('POST', '/markers', { label: 'console-v2', note: 'to change', at: '20m' });
    await page.goto(`${url}/history?range=1h`, { waitUntil: 'domcontentloaded' });
    const li = `ul.markers li[data-id="${m.id}"]`;
    await press(page, `${li} button.edit`);
    await page.waitForSelector(`${li} form.marker-edit`);
    if ((await page.$eval(`${li} #marker-edit-label`, (e) => e.value)) !== 'console-v2') throw new Error('not its label');
    // a label over 200 characters: the API's 400 under the label field
    await typeIn(page, `${li} #marker-edit-label`, 'x'.repeat(201));
    expected.push(`400 PATCH /api/v1/markers/${m.id}`);
    await press(page, `${li} button.marker-save`);
    const err = `${li} .field[data-field="label"] p.error`;
    await page.waitForSelector(err);
    const said = await text(page, err);
    if (!said.startsWith('400') || !said.includes('label')) throw new Error(said);
    await shot(page, 'marker-edit');
    const at = new Date(Date.now() - 10 * 60000).toISOString().replace(/\.\d+Z$/, 'Z');
    let body;
    const seen = (r) => { if (r.method() === 'PATCH') body = JSON.parse(r.postData()); };
    page.on('request', seen);
    try {
      await typeIn(page, `${li} #marker-edit-label`, 'console-v2.1');
      await typeIn(page, `${li} #marker-edit-note`, '');
      await typeIn(page, `${li} #marker-edit-at`, at);
      await press(page, `${li} button.marker-save`);
      await page.waitForSelector('ul.markers li[data-label="console-v2.1"]');
    } finally {
      page.off('request', seen);
    }
    if (!isDeepStrictEqual(body, { label: 'console-v2.1', note: null, at })) throw new Error(`sent ${JSON.stringify(body)}`);
    await page.waitForSelector('#chart-throughput g.marker[data-label="console-v2.1"] line');
    const got = (await apiGet('/markers?since=1h')).markers.find((x) => x.id === m.id);
    if (!got || got.label !== 'console-v2.1' || 'note' in got || got.at_ms !== Date.parse(at) || got.updated_by !== 'ops') {
      throw new Error(`the API has ${JSON.stringify(got)}`);
    }
    const audit = await apiGet('/audit?action=marker.update&target=console-v2.1');
    if (audit.records.length !== 1) throw new Error(`${audit.records.length} audit records`);
    return `${JSON.stringify(body)}; ${said}`;
  });

  await check('a deploy marker deleted from the History page after a confirmation: the API has it no more', async () => {
    const m = (await apiGet('/markers?since=1h')).markers.find((x) => x.label === 'console-v2.1');
    if (!m) throw new Error('no marker console-v2.1');
    await page.goto(`${url}/history?range=1h`, { waitUntil: 'domcontentloaded' });
    const li = `ul.markers li[data-id="${m.id}"]`;
    await press(page, `${li} button.delete`);
    await page.waitForSelector(`${li} button.delete-confirm`);
    if (!(await apiGet('/markers?since=1h')).markers.some((x) => x.id === m.id)) throw new Error('gone before the confirmation');
    await press(page, `${li} button.delete-confirm`);
    await page.waitForFunction(() => document.querySelector('#marker-change-result')?.textContent.includes('deleted'));
    await page.waitForFunction((s) => !document.querySelector(s), {}, li);
    if ((await apiGet('/markers?since=1h')).markers.some((x) => x.id === m.id)) throw new Error('the API still has it');
    if (!(await page.$('ul.markers li[data-label="console-v1"]'))) throw new Error('console-v1 went too');
  });

  await check('the history view takes a custom range from the URL and zooms by a drag across a chart', async () => {
    const to = Math.floor(Date.now() / 1000) * 1000, from = to - 2 * 3600e3;
    await page.goto(`${url}/history?from=${isoOf(from)}&to=${isoOf(to)}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`#range-form[data-from="${from}"][data-to="${to}"]`);
    const h = await apiGet(`/history?since=${isoOf(from)}&until=${isoOf(to)}`);
    const pts = Number(await page.$eval('#chart-throughput svg', (e) => e.dataset.points));
    if (pts !== h.points.length) throw new Error(`${pts} points drawn, the API has ${h.points.length}`);
    if (await page.$('.ranges button.active')) throw new Error('a preset shown as chosen with a custom range');
    // the fields are filled after the range is drawn
    await page.waitForFunction((s) => document.querySelector(s)?.value, {}, '#range-to');
    const shown = await page.$eval('#range-to', (e) => e.value);
    if (shown !== isoOf(to).slice(0, 19).replace('T', ' ')) throw new Error(`to field ${shown}`);
    // a drag across the throughput chart (its plot starts at x 44)
    await drag(page, '#chart-throughput svg', 0.5, 0.75, 44);
    await page.waitForFunction(() => new URLSearchParams(location.search).has('from'));
    await page.waitForFunction((f) => Date.parse(new URLSearchParams(location.search).get('from')) !== f, {}, from);
    const [zf, zt] = await urlRange(page);
    if (!(zf > from && zt < to && zt - zf < 3600e3)) throw new Error(`zoomed to ${isoOf(zf)}-${isoOf(zt)}`);
    await page.waitForSelector(`#chart-duration svg[data-from="${zf}"][data-to="${zt}"]`);
    // Reset: the preset again
    await press(page, '#range-reset');
    await page.waitForFunction(() => !location.search.includes('from='));
    await page.waitForSelector('.ranges button.active');
    return `zoomed to ${isoOf(zf)} - ${isoOf(zt)}`;
  });

  await check('the range fields read and show local time when the choice is local', async () => {
    await page.emulateTimezone('Asia/Kolkata');   // UTC+05:30, no summer time
    try {
      await page.goto(`${url}/history?range=1h`, { waitUntil: 'domcontentloaded' });
      await page.select('header .zone select', 'local');
      const from = Date.UTC(2026, 11, 7, 4, 30, 0), to = Date.UTC(2026, 11, 7, 6, 0, 0);
      await page.goto(`${url}/history?from=${isoOf(from)}&to=${isoOf(to)}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector(`#range-form[data-from="${from}"]`);
      // the fields are filled after the range is drawn
      await page.waitForFunction((s) => document.querySelector(s)?.value, {}, '#range-from');
      const shown = await page.$eval('#range-from', (e) => e.value);
      if (shown !== '2026-12-07 10:00:00') throw new Error(`from field ${shown} (04:30 UTC in Kolkata)`);
      // typed in local time: 11:00 in Kolkata is 05:30 UTC
      await page.$eval('#range-from', (e) => { e.value = ''; });
      await page.type('#range-from', '2026-12-07 11:00');
      await press(page, '#range-apply');
      await page.waitForFunction((f) => new URLSearchParams(location.search).get('from') === f, {},
        isoOf(Date.UTC(2026, 11, 7, 5, 30, 0)));
      // a range that ends before it starts is refused in the page
      const before = await page.evaluate(() => location.search);
      await page.$eval('#range-to', (e) => { e.value = ''; });
      await page.type('#range-to', '2026-12-07 09:00');
      await press(page, '#range-apply');
      await page.waitForSelector('#range-error');
      if (await page.evaluate(() => location.search) !== before) throw new Error('a bad range went into the URL');
      return `${shown} local for ${isoOf(from)}`;
    } finally {
      await page.select('header .zone select', 'utc');
      await page.emulateTimezone();
    }
  });

  await check('a reload of the overview renders its data in under 5 s', async () => {
    const times = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('table.queues[data-kind="Bands"] tbody tr');
      times.push(Date.now() - t0);
    }
    if (Math.max(...times) > 5000) throw new Error(`${times.join(', ')} ms`);
    return `warm: ${times.join(', ')} ms`;
  });

  await check('dark mode follows the system', async () => {
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('table.queues tbody tr');
    await page.waitForSelector('#outcomes table.outcomes');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    if (r + g + b > 200) throw new Error(`background ${bg} is not dark`);
    await shot(page, 'overview-dark');
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    return bg;
  });

  // Last: it makes one more dead letter than the checks above count on.
  await check('the DLQ depth gauge follows the event stream, its reads of the depth blocked', async () => {
    await page.goto(`${url}/dlq`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#dlq-gauge[data-depth]');
    const before = Number(await page.$eval('#dlq-gauge', (e) => e.dataset.depth));
    const t0 = Date.now();
    const [after, blocked] = await blocking(page, '/api/v1/dlq/depth', async () => {
      await apiCall('POST', '/tasks', { handler: 'grumpy', payload: { from: 'the dlq event check' } });
      await page.waitForFunction((n) => Number(document.querySelector('#dlq-gauge')?.dataset.depth) > n,
        { timeout: 20000 }, before);
      return page.$eval('#dlq-gauge', (e) => e.dataset.depth);
    });
    return `${before} -> ${after} in ${Date.now() - t0} ms; ${blocked} read(s) of the depth blocked`;
  });

  // gloomy's dead letters: a failure group of their own, to discard
  // (grumpy's stay for the checks above)
  let gloomy = [];
  await check('discard a dead letter from its page: dry run, then discarded; the page and the list say so', async () => {
    for (let i = 0; i < 3; i++) {
      await apiCall('POST', '/tasks', { handler: 'gloomy', payload: { from: 'the discard check', i } });
    }
    gloomy = (await until(async () => {
      const r = await apiGet('/dlq?handler=gloomy');
      return r.entries.length === 3 && r;
    }, 'three gloomy dead letters')).entries.map((e) => e.id);
    const id = gloomy[0];
    await page.goto(`${url}/dlq/${id}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#dlq-fate[data-fate=""]');
    await press(page, '#discard-dry');
    await page.waitForSelector('#discard-count');
    const n = await page.$eval('#discard-count', (e) => e.dataset.count);
    if (n !== '1') throw new Error(`dry run count ${n}`);
    if ((await apiGet(`/dlq/${id}`)).discarded) throw new Error('discarded by the dry run');
    await page.click('#discard-confirm');
    await page.waitForSelector('#discard-result');
    await page.waitForSelector('#dlq-fate[data-fate="discarded"]');
    if (await page.$('#discard-dry')) throw new Error('Discard still offered for a discarded entry');
    const e = await apiGet(`/dlq/${id}`);
    if (!e.discarded || e.resubmitted_as !== null) throw new Error(`the API says ${e.discarded}, ${e.resubmitted_as}`);
    await shot(page, 'dlq-entry-discarded');
    await page.goto(`${url}/dlq?handler=gloomy`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`tr[data-dlq="${id}"][data-fate="discarded"]`);
    const others = await page.$$eval('table.dlq tbody tr[data-fate="discarded"]', (trs) => trs.length);
    if (others !== 1) throw new Error(`${others} rows say discarded`);
    return `${id} discarded`;
  });

  await check('failures: discard gloomy\'s group beside its retry: dry run, then a discard job to done; the samples say discarded', async () => {
    const g = (await until(async () => {
      const r = await apiGet('/dlq/groups?handler=gloomy');
      return r.groups.length === 1 && r.groups[0].count === 3 && r;
    }, 'gloomy\'s group counts three')).groups[0];
    await page.goto(`${url}/dlq/groups/${g.id}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#group-count');
    await page.waitForSelector('#job-dry');
    await press(page, '#discard-dry');
    await page.waitForSelector('#discard-count');
    const dry = await apiCall('POST', '/dlq/discard', { group: g.id, dry_run: true });
    const n = Number(await page.$eval('#discard-count', (e) => e.dataset.count));
    if (n !== dry.count || n !== 2) throw new Error(`dry run shows ${n}, the API says ${dry.count} (one was discarded)`);
    await shot(page, 'dlq-group-discard');
    await page.click('#discard-confirm');
    await page.waitForFunction(() => /^\/dlq\/jobs\/[0-9A-Z]{26}$/.test(location.pathname));
    const id = await page.evaluate(() => location.pathname.split('/').pop());
    await page.waitForSelector('#job-state[data-state="done"]', { timeout: WAIT });
    if ((await page.$eval('#job-kind', (e) => e.dataset.kind)) !== 'discard') throw new Error('not a discard job');
    const shown = Number(await page.$eval('#job-counts', (e) => e.dataset.sent));
    const job = await apiGet(`/dlq/jobs/${id}`);
    if (shown !== n || job.discarded !== n || job.kind !== 'discard') {
      throw new Error(`shown ${shown}, the API's job: ${job.kind}, ${job.discarded} discarded`);
    }
    await page.goto(`${url}/dlq/groups/${g.id}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-sample]');
    const fates = await page.$$eval('tr[data-sample]', (trs) => trs.map((t) => t.dataset.fate));
    if (fates.length !== 3 || fates.some((f) => f !== 'discarded')) throw new Error(`samples: ${fates}`);
    await page.goto(`${url}/dlq/jobs`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`table.jobs tr[data-job="${id}"][data-kind="discard"]`);
    return `job ${id}: ${shown} discarded`;
  });

  await check('discard this filter from the DLQ view: the dry run\'s count is the API\'s, then a discard job to done; the stats say discarded', async () => {
    for (let i = 0; i < 2; i++) {
      await apiCall('POST', '/tasks', { handler: 'gloomy', payload: { from: 'the filter discard check', i } });
    }
    await until(async () => (await apiGet('/dlq?handler=gloomy')).entries.length === 5, 'five gloomy dead letters');
    const filter = { handler: 'gloomy' };
    await page.goto(`${url}/dlq?handler=gloomy`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#job-dry');
    await press(page, '#discard-dry');
    await page.waitForSelector('#discard-count');
    const dry = await apiCall('POST', '/dlq/discard', { filter, dry_run: true });
    const n = Number(await page.$eval('#discard-count', (e) => e.dataset.count));
    const words = await text(page, '#discard-count');
    if (n !== dry.count || n !== 2 || dry.already_discarded !== 3 || !words.includes('3 already discarded')) {
      throw new Error(`dry run shows ${n} (${words}), the API says ${dry.count}, ${dry.already_discarded} already discarded`);
    }
    if ((await apiGet('/dlq/stats?handler=gloomy')).discarded !== 3) throw new Error('discarded by the dry run');
    await shot(page, 'dlq-filter-discard');
    await page.click('#discard-confirm');
    await page.waitForFunction(() => /^\/dlq\/jobs\/[0-9A-Z]{26}$/.test(location.pathname));
    const id = await page.evaluate(() => location.pathname.split('/').pop());
    await page.waitForSelector('#job-state[data-state="done"]', { timeout: WAIT });
    if ((await page.$eval('#job-kind', (e) => e.dataset.kind)) !== 'discard') throw new Error('not a discard job');
    const job = await apiGet(`/dlq/jobs/${id}`);
    if (job.kind !== 'discard' || job.discarded !== n || JSON.stringify(job.spec.filter) !== JSON.stringify(filter)) {
      throw new Error(`the API's job: ${job.kind}, ${job.discarded} discarded, filter ${JSON.stringify(job.spec.filter)}`);
    }
    let st = null;
    await until(async () => {
      st = await apiGet('/dlq/stats?handler=gloomy');
      return st.count === 5 && st.discarded === 5;
    }, 'the filter\'s stats: 5 entries, 5 discarded').catch((e) => {
      throw new Error(`${e.message}: ${st && st.count} entries, ${st && st.discarded} discarded`);
    });
    return `job ${id}: ${n} discarded, the filter's ${st.discarded} of ${st.count} discarded`;
  });

  // here, late: the task comes back from the delay topics once the default
  // breaker policy's wait_in_open (60 s) is over
  await check('once its breaker was released the waiting task ran, and its wait ends where its attempt starts', async () => {
    if (!waiter) throw new Error('no task waited');
    const t = await until(async () => {
      const x = await apiGet(`/tasks/${waiter}`);
      return x.state === 'succeeded' && x.history.length ? x : null;
    }, 'the waiting task succeeded');
    await page.goto(`${url}/tasks/${waiter}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelector('#task-state')?.textContent === 'succeeded');
    const sel = `#life .seg.breaker[data-breaker="${breaker}"]`;
    await page.waitForSelector(sel);
    const seg = await page.$eval(sel, (e) => ({ to: Number(e.dataset.to), open: e.classList.contains('open') }));
    if (seg.open || seg.to !== t.history[0].started_ms) throw new Error(`segment ${JSON.stringify(seg)}, attempt started ${t.history[0].started_ms}`);
    const legend = await text(page, '#life .legend-breaker');
    if (!legend.includes(`waited for breaker ${breaker},`)) throw new Error(`legend ${legend}`);
    return legend;
  });

  await check('the overview counts a task skipped for its idempotency key in its band\'s skipped column', async () => {
    const key = `console-skip-${Date.now()}`;
    const first = await apiCall('POST', '/tasks', { handler: 'echo', idempotency_key: key });
    await until(async () => (await apiGet(`/tasks/${first.id}`).catch(() => ({}))).state === 'succeeded', 'the first run');
    const second = await apiCall('POST', '/tasks', { handler: 'echo', idempotency_key: key });
    await until(async () => (await apiGet(`/tasks/${second.id}`).catch(() => ({}))).state === 'skipped', 'the second skipped');
    const n = await until(async () => {
      const h = await apiGet('/history?band=normal&since=30m');
      const c = h.points.slice(-5).reduce((sum, p) => sum + (p.skipped || 0), 0);
      return c > 0 ? c : null;
    }, 'the history counted the skip');
    await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
    const sel = '#outcomes tr[data-band="normal"] td[data-outcome="skipped"]';
    await page.waitForFunction((s, want) => Number(document.querySelector(s)?.dataset.count) >= want, {}, sel, n);
    if (!(await page.$('#outcomes-normal rect.skip'))) throw new Error('no skipped bar');
    return `${await page.$eval(sel, (e) => e.dataset.count)} skipped in the normal band`;
  });

  // the issue's "a 1 MB payload never breaks a page": as near 1 MB as the
  // producer's default message.max.bytes (1,000,000) lets a task go, with
  // room for its dead letter's attempts
  await check('a dead letter with a 900 kB payload: its list entry leaves the payload out, its page shows it whole', async () => {
    const blob = 'x'.repeat(900 * 1000);
    await apiCall('POST', '/tasks', { handler: 'heavy', payload: { blob } });
    const e = (await until(async () => (await apiGet('/dlq?handler=heavy')).entries[0], 'the heavy dead letter'));
    const cut = e.payload_truncated || (e.task && e.task.payload_truncated);
    if (!cut) throw new Error(`the list carried the payload: ${JSON.stringify(e).slice(0, 300)}`);
    await page.goto(`${url}/dlq?handler=heavy`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`table.dlq tbody tr[data-dlq="${e.id}"]`);
    const t0 = Date.now();
    await page.goto(`${url}/dlq/${encodeURIComponent(e.id)}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction((n) => (document.querySelector('pre.payload')?.textContent.length || 0) > n, {}, blob.length);
    return `its page with the whole payload in ${Date.now() - t0} ms`;
  });

  await check('no console errors, no failed requests', async () => {
    if (errors.length) throw new Error(errors.join('; '));
  });
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
