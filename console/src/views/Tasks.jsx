// Tasks: one page at a time of GET /api/v1/tasks (newest update first),
// filtered by state and handler; the filters live in the URL, the cursors
// of the pages before in memory (Previous).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { usePoll } from '../poll.js';
import { Link, navigate, useLocation } from '../router.jsx';
import { fmtTime, useZone } from '../time.js';
import { Live, Problem } from './common.jsx';

export const STATES = ['queued', 'running', 'retrying', 'succeeded', 'dead',
  'paused', 'skipped', 'cancelled'];
const LIMIT = 50;

export function Tasks() {
  const { query } = useLocation();
  const zone = useZone();
  const state = query.get('state') || '';
  const handler = query.get('handler') || '';
  const cursor = query.get('cursor') || '';
  const [before, setBefore] = useState([]); // cursors of earlier pages
  const [handlerText, setHandlerText] = useState(handler);

  const poll = usePoll(() => api('GET', '/tasks', { state, handler, cursor, limit: LIMIT }),
    cursor ? 0 : 5000, [state, handler, cursor]);
  const go = (next, keep) => {
    const p = new URLSearchParams();
    if (next.state) p.set('state', next.state);
    if (next.handler) p.set('handler', next.handler);
    if (next.cursor) p.set('cursor', next.cursor);
    if (!keep) setBefore([]);
    navigate('/tasks' + (p.toString() ? '?' + p : ''));
  };
  const page = poll.data;
  return (
    <div>
      <div class="title"><h2>Tasks</h2><Live poll={poll} /></div>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); go({ state, handler: handlerText.trim() }); }}>
        <label>State{' '}
          <select id="state" value={state} onChange={(e) => go({ state: e.target.value, handler })}>
            <option value="">all</option>
            {STATES.map((s) => <option value={s}>{s}</option>)}
          </select>
        </label>
        <label>Handler{' '}
          <input id="handler" value={handlerText} placeholder="any"
            onInput={(e) => setHandlerText(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Problem error={poll.error} />
      {page && (
        <>
          <table class="tasks">
            <thead>
              <tr><th>id</th><th>state</th><th>handler</th><th class="num">attempt</th>
                <th>updated</th><th>last error</th></tr>
            </thead>
            <tbody>
              {page.tasks.map((t) => (
                <tr key={t.id}>
                  <td><Link href={`/tasks/${encodeURIComponent(t.id)}`} class="mono">{t.id}</Link></td>
                  <td><span class={`state ${t.state}`}>{t.state}</span></td>
                  <td>{t.handler}</td><td class="num">{t.attempt}</td>
                  <td>{fmtTime(t.updated_ms, zone)}</td>
                  <td class="err">{t.last_error}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!page.tasks.length && <p class="muted">No tasks{page.next_cursor ? ' in this stretch; there are more' : ''}.</p>}
          <div class="pager">
            <button disabled={!cursor} onClick={() => {
              const prev = before.slice(0, -1);
              const c = before[before.length - 1] || '';
              setBefore(prev);
              go({ state, handler, cursor: c }, true);
            }}>Previous</button>
            <button id="next" disabled={!page.next_cursor} onClick={() => {
              setBefore([...before, cursor]);
              go({ state, handler, cursor: page.next_cursor }, true);
            }}>Next</button>
            <span class="muted">{page.tasks.length} shown · {page.scanned} scanned</span>
          </div>
        </>
      )}
    </div>
  );
}
