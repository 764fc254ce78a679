// Export the DLQ page's current filter as NDJSON, the `droverctl dlq
// export` line format (GET /api/v1/dlq?message=true gives the entries in
// that form, DeadLetter bytes included): follows its cursors 100 entries
// a request, counts as it goes, can be
// cancelled (after the request in flight), stops at EXPORT_MAX entries,
// and hands the browser one file. Every line is held in memory until
// then, hence the bound.
import { useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Problem } from './common.jsx';

export const EXPORT_MAX = 100000;
const PAGE = 100;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// since / until given as a duration ago ("24h", "1d12h") become the time
// they meant when the export started, so the window does not slide from
// one request to the next.
const UNIT = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };
export function pinTimes(filter, now) {
  const out = { ...filter };
  for (const k of ['since', 'until']) {
    const v = out[k];
    if (!v || !/^(\d+(ms|s|m|h|d))+$/.test(v)) continue;
    let ago = 0;
    for (const [, n, u] of v.matchAll(/(\d+)(ms|s|m|h|d)/g)) ago += Number(n) * UNIT[u];
    out[k] = new Date(now - ago).toISOString();
  }
  return out;
}

// One page, waiting out the API's rate limit (429) up to a minute.
async function page(query) {
  for (let i = 0; ; i++) {
    try {
      return await api('GET', '/dlq', query);
    } catch (e) {
      if (e.status !== 429 || i >= 60) throw e;
      await sleep(1000);
    }
  }
}

function save(parts, count) {
  const blob = new Blob(parts, { type: 'application/x-ndjson' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `dlq-export-${new Date().toISOString().replace(/[:.]/g, '-')}-${count}.jsonl`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

export function DlqExport({ filter, what }) {
  const [st, setSt] = useState(null);
  const cancel = useRef(false);
  const run = async () => {
    const parts = [];
    const pinned = pinTimes(filter, Date.now());
    let count = 0, cursor = '';
    cancel.current = false;
    setSt({ count, running: true });
    try {
      do {
        const p = await page({ ...pinned, cursor, limit: PAGE, message: 'true' });
        for (const e of p.entries) {
          if (count >= EXPORT_MAX) break;
          parts.push(JSON.stringify(e) + '\n');
          count++;
        }
        cursor = p.next_cursor || '';
        setSt({ count, running: true });
      } while (cursor && count < EXPORT_MAX && !cancel.current);
      if (cancel.current) {
        setSt({ count, cancelled: true });
        return;
      }
      save(parts, count);
      setSt({ count, done: true, capped: !!cursor });
    } catch (e) {
      setSt({ count, error: e });
    }
  };
  return (
    <div class="actions export">
      <button id="dlq-export" disabled={st && st.running} onClick={run}>Export {what} as NDJSON</button>
      {st && st.running && <button id="dlq-export-cancel" class="link" onClick={() => { cancel.current = true; }}>Cancel</button>}
      {st && (
        <span id="dlq-export-status" data-count={st.count} data-state={st.running ? 'running' : st.done ? 'done' : st.cancelled ? 'cancelled' : 'failed'}>
          {' '}{st.running ? `Reading… ${st.count} entries` : st.done
            ? `Exported ${st.count} ${st.count === 1 ? 'entry' : 'entries'}${st.capped ? ` (stopped at the maximum, ${EXPORT_MAX.toLocaleString('en')}; narrow the filter or use droverctl dlq export)` : ''}.`
            : st.cancelled ? `Cancelled after ${st.count} entries; nothing saved.` : `Failed after ${st.count} entries.`}
        </span>
      )}
      {st && st.error && <Problem error={st.error} />}
      <span class="muted"> At most {EXPORT_MAX.toLocaleString('en')} entries, in DLQ order.</span>
    </div>
  );
}
