// History (/history): throughput, failure rate, submit→start and duration
// percentiles over time for one handler, one band or every task
// (GET /api/v1/history), as small SVG line charts (chart.jsx) with the deploy markers
// of the range drawn as labelled vertical lines; polled every minute.
// Handler, band and range live in the URL:
// /history?handler=billing&range=7d, or a custom range (range.jsx):
// /history?from=2026-12-07T10:00:00Z&to=2026-12-07T12:00:00Z, which a drag
// across a chart sets (zoom) and Reset or a preset clears. The API picks
// the step (at most 1500 points). Operators may set a marker here, and
// change (PATCH /api/v1/markers/ID: label, note, time; only what changed
// is sent, a note emptied as null) or delete (DELETE, after a
// confirmation) each one listed; the API's problem is shown under the
// field its pointer names.
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { fmtTime, useZone } from '../time.js';
import { Chart } from './chart.jsx';
import { Live, Problem, Result, useAction, usePaging } from './common.jsx';
import { RangeForm } from './range.jsx';

const KEYS = ['handler', 'band', 'range', 'from', 'to'];
const RANGES = ['1h', '24h', '7d', '14d'];

// Set a marker now (operators).
function AddMarker({ poll }) {
  const [label, setLabel] = useState('');
  const [result, run] = useAction(poll);
  const submit = (e) => {
    e.preventDefault();
    const text = label.trim();
    run(async () => {
      const m = await api('POST', '/markers', null, { label: text });
      return `Marker ${m.label} set.`;
    });
    setLabel('');
  };
  return (
    <form class="filters" id="marker-add" onSubmit={submit}>
      <label>Deploy marker <input id="marker-label" value={label} placeholder="v1.4.2" size={12}
        onInput={(e) => setLabel(e.target.value)} /></label>
      <button type="submit" disabled={!label.trim()}>Set now</button>
      <Result result={result} id="marker-result" />
    </form>
  );
}

// A marker's form: its label, note and time (RFC 3339, or as the API
// takes it: a duration ago such as 2h).
function EditMarker({ m, run, onClose }) {
  const iso = new Date(m.at_ms).toISOString();
  const [v, setV] = useState({ label: m.label, note: m.note || '', at: iso });
  const [error, setError] = useState(null);
  const set = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const at = (k) => (error && error.pointer === `/${k}` ? error : null);
  const submit = async (e) => {
    e.preventDefault();
    const body = {};
    if (v.label.trim() !== m.label) body.label = v.label.trim();
    if (v.note.trim() !== (m.note || '')) body.note = v.note.trim() || null;
    if (v.at.trim() !== iso) body.at = v.at.trim();
    if (!Object.keys(body).length) return onClose();
    setError(null);
    try {
      const r = await api('PATCH', `/markers/${encodeURIComponent(m.id)}`, null, body);
      onClose();
      run(async () => `Marker ${r.label} changed.`);
    } catch (err) {
      setError(err);
    }
  };
  const field = (k, label, props) => (
    <div class="field" data-field={k}>
      <label>{label} <input id={`marker-edit-${k}`} value={v[k]} onInput={set(k)} {...props} /></label>
      <Problem error={at(k)} />
    </div>
  );
  return (
    <form class="marker-edit task-options" onSubmit={submit}>
      {field('label', 'Label', { size: 14, required: true })}
      {field('note', 'Note', { size: 24, placeholder: 'none' })}
      {field('at', 'Time', { size: 24, class: 'mono', title: 'RFC 3339, or a duration ago (2h)' })}
      {error && !['/label', '/note', '/at'].includes(error.pointer) && <Problem error={error} />}
      <button type="submit" class="marker-save">Save</button>
      <button type="button" class="link" onClick={onClose}>Cancel</button>
    </form>
  );
}

// One marker of the list; edit and delete for operators.
function MarkerItem({ m, zone, operator, run }) {
  const [mode, setMode] = useState('');
  return (
    <li data-label={m.label} data-id={m.id}><strong>{m.label}</strong>{' '}
      <span class="when">{fmtTime(m.at_ms, zone)}</span>
      {m.note && ` · ${m.note}`}{m.actor && <span class="muted"> · {m.actor}</span>}
      {m.updated_by && <span class="muted"> · changed by {m.updated_by}</span>}
      {operator && !mode && <>{' '}<button class="link edit" onClick={() => setMode('edit')}>edit</button>{' '}
        <button class="link delete" onClick={() => setMode('delete')}>delete</button></>}
      {mode === 'delete' && (
        <span class="confirm"> Delete {m.label}?{' '}
          <button class="danger delete-confirm" onClick={() => run(async () => {
            await api('DELETE', `/markers/${encodeURIComponent(m.id)}`);
            return `Marker ${m.label} deleted.`;
          })}>Delete</button>{' '}
          <button class="link" onClick={() => setMode('')}>Cancel</button></span>
      )}
      {mode === 'edit' && <EditMarker m={m} run={run} onClose={() => setMode('')} />}
    </li>
  );
}

export function History({ who }) {
  const zone = useZone();
  const paging = usePaging('/history', KEYS);
  const { filters } = paging;
  const range = RANGES.includes(filters.range) ? filters.range : '24h';
  const custom = !!(filters.from || filters.to);
  const [handler, setHandler] = useState(filters.handler);
  const poll = usePoll(() => api('GET', '/history', {
    handler: filters.handler, band: filters.handler ? '' : filters.band,
    since: custom ? filters.from : range, until: custom ? filters.to : '',
  }), 60000, KEYS.map((k) => filters[k]));
  const d = poll.data;
  const pts = d ? d.points : [];
  const ts = pts.map((p) => p.t);
  const pct = (key, q) => pts.map((p) => (p[key].count ? p[key][q] : null));
  const setRange = (from, to) => paging.go({ ...filters, from, to });
  const common = d && {
    ts, markers: d.markers, from: d.since_ms, to: d.until_ms, zone, onZoom: setRange, minMs: 2 * 60000,
  };
  const [result, run] = useAction(poll);
  const operator = can(who, 'operator');
  return (
    <div>
      <div class="title"><h2>History</h2><Live poll={poll} /></div>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); paging.go({ ...filters, handler: handler.trim() }); }}>
        <label>Handler <input id="handler" value={handler} placeholder="all" size={12}
          onInput={(e) => setHandler(e.target.value)} /></label>
        <label>Band{' '}
          <select id="band" value={filters.band} disabled={!!filters.handler}
            onChange={(e) => paging.go({ ...filters, band: e.target.value })}>
            <option value="">all</option>
            {['high', 'normal', 'low'].map((b) => <option value={b}>{b}</option>)}
          </select>
        </label>
        <button type="submit">Show</button>
        <span class="ranges">
          {RANGES.map((r) => (
            <button type="button" data-range={r} class={!custom && r === range ? 'active' : ''}
              onClick={() => paging.go({ ...filters, range: r, from: '', to: '' })}>{r}</button>
          ))}
        </span>
      </form>
      <RangeForm from={d && d.since_ms} to={d && d.until_ms} zone={zone} custom={custom} zoom
        url={`${filters.range}|${filters.from}|${filters.to}`}
        onRange={setRange} onReset={() => paging.go({ ...filters, from: '', to: '' })} />
      <Problem error={poll.error} />
      {d && (
        <>
          <p id="history-total">
            <span data-count="attempts">{d.total.attempts}</span> attempts ·{' '}
            <span data-count="failed">{d.total.failed}</span> failed ({(100 * d.total.failure_rate).toFixed(1)}%) ·{' '}
            {d.total.succeeded} succeeded · {d.total.dead} dead · step {d.step_ms / 60000} min ·{' '}
            {d.markers.length} marker{d.markers.length === 1 ? '' : 's'}
          </p>
          <Chart id="chart-throughput" title="Throughput" unit="attempts/s" {...common}
            series={[{ name: 'attempts/s', cls: 's0', values: pts.map((p) => p.per_s) }]} />
          <Chart id="chart-failures" title="Failure rate" unit="%" {...common}
            series={[{ name: 'failed', cls: 'bad', values: pts.map((p) => (p.attempts ? 100 * p.failure_rate : null)) }]} />
          <Chart id="chart-wait" title="Submit → start (first attempts)" unit="ms, bucket estimates" {...common}
            series={['p50', 'p95', 'p99'].map((q, i) => ({ name: q, cls: `s${i}`, values: pct('wait_ms', q) }))} />
          <Chart id="chart-duration" title="Duration" unit="ms, bucket estimates" {...common}
            series={['p50', 'p95', 'p99'].map((q, i) => ({ name: q, cls: `s${i}`, values: pct('duration_ms', q) }))} />
          {d.markers.length > 0 && (
            <ul class="markers">
              {d.markers.map((m) => <MarkerItem key={m.id} m={m} zone={zone} operator={operator} run={run} />)}
            </ul>
          )}
          <Result result={result} id="marker-change-result" />
        </>
      )}
      {operator && <AddMarker poll={poll} />}
    </div>
  );
}
