// Pieces every view uses: the live / stale indicator, an error line, an
// action's result, a gauge bar, and the paged lists' filters and pager.
import { useEffect, useState } from 'preact/hooks';
import { navigate, useLocation } from '../router.jsx';
import { api } from '../api.js';
import { usePoll } from '../poll.js';
import { reportStatus } from '../status.js';
import { fmtTime, useZone } from '../time.js';

// <Live poll={usePoll(...)} />: green while fresh, amber once stale; it
// tells the header how the data comes (useLive's mode 'live', else
// 'polling'), unless report is false (a panel beside the view's own data).
export function Live({ poll, report = true }) {
  const zone = useZone();
  const state = !poll.at ? 'waiting' : poll.stale ? 'stale' : 'live';
  const how = state === 'live' ? (poll.mode === 'live' ? 'live' : 'polling') : state;
  const why = poll.error ? poll.error.message : '';
  useEffect(() => {
    if (report) reportStatus({ state: how, why });
  }, [how, why, report]);
  return (
    <span class={`live ${state}`} data-state={state}
      title={poll.error ? poll.error.message : ''}>
      <span class="dot" /> {state}
      {poll.at > 0 && <span class="muted"> · {fmtTime(poll.at, zone)}</span>}
    </span>
  );
}

// jsonObject(text, 'payload'): text parsed, or an error that says what
// (named) is not JSON or not an object.
export function jsonObject(text, what) {
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not JSON: ${e.message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} is not a JSON object`);
  return v;
}

export function Problem({ error }) {
  if (!error) return null;
  return <p class="error">{error.status ? `${error.status}: ` : ''}{error.message}</p>;
}

// <GaugeBar value full threshold />: an SVG bar of value out of full with
// a line at threshold (none when null), red when bad (by default: once
// value reaches threshold). Other props (data-*) go on the svg.
export function GaugeBar({ value, full, threshold = null, bad, width = 240, height = 12, label, ...rest }) {
  const x = (v) => (Math.max(0, Math.min(v, full)) / full) * width;
  const red = bad ?? (threshold !== null && value >= threshold);
  return (
    <svg class="gauge-bar" width={width} height={height} role="img" aria-label={label} {...rest}>
      {label && <title>{label}</title>}
      <rect class="bg" x={0} y={0} width={width} height={height} />
      <rect class={red ? 'fill bad' : 'fill'} x={0} y={0} width={x(value)} height={height} />
      {threshold !== null && <line x1={x(threshold)} x2={x(threshold)} y1={0} y2={height} />}
    </svg>
  );
}

// <Result result={r} id=... />: an action's answer, {ok: text} or {error}.
export function Result({ result, id }) {
  if (!result) return null;
  return result.error ? <Problem error={result.error} /> : <p class="ok" id={id}>{result.ok}</p>;
}

// useAction(poll): [result, run]; run(fn) calls fn, keeps its text (or
// error) as the result and re-reads the poll.
export function useAction(poll) {
  const [result, setResult] = useState(null);
  const run = async (fn) => {
    setResult(null);
    try {
      setResult({ ok: await fn() });
      if (poll) poll.reload();
    } catch (e) {
      setResult({ error: e });
    }
  };
  return [result, run];
}

// usePaging(base, keys): a paged list's filters (the keys) and cursor from
// the URL, the cursors of the pages before in memory. go(filters) opens the
// first page of a filter; next(cursor) and prev() turn the page.
export function usePaging(base, keys) {
  const { query } = useLocation();
  const filters = Object.fromEntries(keys.map((k) => [k, query.get(k) || '']));
  const cursor = query.get('cursor') || '';
  const [before, setBefore] = useState([]);
  const open = (f, c) => {
    const p = new URLSearchParams();
    for (const k of keys) if (f[k]) p.set(k, f[k]);
    if (c) p.set('cursor', c);
    navigate(base + (p.toString() ? '?' + p : ''));
  };
  return {
    filters,
    cursor,
    go: (f) => { setBefore([]); open(f, ''); },
    next: (c) => { setBefore([...before, cursor]); open(filters, c); },
    prev: () => { setBefore(before.slice(0, -1)); open(filters, before[before.length - 1] || ''); },
  };
}

// <Pager paging={usePaging(...)} next={page.next_cursor}>counts</Pager>
export function Pager({ paging, next, children }) {
  return (
    <div class="pager">
      <button class="prev" disabled={!paging.cursor} onClick={paging.prev}>Previous</button>
      <button id="next" disabled={!next} onClick={() => paging.next(next)}>Next</button>
      <span class="muted">{children}</span>
    </div>
  );
}

// <Filters paging={...} fields={[{key, label, options?, placeholder?}]} />:
// a select (options) applies at once; text fields on Filter.
export function Filters({ paging, fields }) {
  const [text, setText] = useState(paging.filters);
  useEffect(() => setText(paging.filters), [JSON.stringify(paging.filters)]);
  const apply = (f) => paging.go(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.trim()])));
  return (
    <form class="filters" onSubmit={(e) => { e.preventDefault(); apply(text); }}>
      {fields.map((f) => (
        <label>{f.label}{' '}
          {f.options ? (
            <select id={f.key} value={text[f.key]}
              onChange={(e) => apply({ ...text, [f.key]: e.target.value })}>
              <option value="">all</option>
              {f.options.map((o) => <option value={o}>{o}</option>)}
            </select>
          ) : (
            <input id={f.key} value={text[f.key]} placeholder={f.placeholder || 'any'}
              size={f.size} onInput={(e) => setText({ ...text, [f.key]: e.target.value })} />
          )}
        </label>
      ))}
      <button type="submit">Filter</button>
    </form>
  );
}

// A paged list's head: its title with the live indicator, its filters and
// the poll's error.
export function ListHead({ title, poll, paging, fields }) {
  return (
    <>
      <div class="title"><h2>{title}</h2><Live poll={poll} /></div>
      <Filters paging={paging} fields={fields} />
      <Problem error={poll.error} />
    </>
  );
}

// A page of a list: a table (its class, the head's cells, a row per item
// from row(item)), a line when the page is empty, and the pager.
export function PagedTable({ name, head, rows, row, paging, page, noun, children }) {
  return (
    <>
      <table class={name}>
        <thead><tr>{head}</tr></thead>
        <tbody>{rows.map(row)}</tbody>
      </table>
      {!rows.length && <p class="muted">No {noun}{page.next_cursor ? ' in this stretch; there are more' : ''}.</p>}
      <Pager paging={paging} next={page.next_cursor}>{children}</Pager>
    </>
  );
}

// usePagedList(path, keys, from): the paging of a list view at path
// (/tasks, /dlq, /audit) and the poll of GET /api/v1FROM (by default the
// same path; a job's failures: /dlq/jobs/ID/failures on /dlq/jobs/ID),
// LIMIT a page (or the URL's limit, kept from page to page); the first
// page is re-read every 5 s, a later one is read once.
export const LIMIT = 50;
export function usePagedList(path, keys, from = path) {
  const all = [...keys, 'limit'];
  const paging = usePaging(path, all);
  const { filters, cursor } = paging;
  const poll = usePoll(() => api('GET', from, { ...filters, cursor, limit: filters.limit || LIMIT }),
    cursor ? 0 : 5000, [from, ...all.map((k) => filters[k]), cursor]);
  return { paging, poll, page: poll.data };
}
