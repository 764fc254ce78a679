// History (/history): throughput, failure rate, submit→start and duration
// percentiles over time for one handler, one band or every task
// (GET /api/v1/history), as small SVG line charts with the deploy markers
// of the range drawn as labelled vertical lines; polled every minute.
// Handler, band and range live in the URL:
// /history?handler=billing&range=7d. Operators may set a marker here.
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { fmtTime, useZone } from '../time.js';
import { Live, Problem, Result, useAction, usePaging } from './common.jsx';

const KEYS = ['handler', 'band', 'range'];
const RANGES = ['1h', '24h', '7d', '14d'];
const W = 720, H = 120, PAD = 44;

// A line chart of series [{name, cls, values}] over the points' times
// \p ts (null values leave a gap), with the markers as vertical lines.
function Chart({ id, title, unit, ts, series, markers, from, to, zone }) {
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const x = (t) => PAD + ((t - from) / Math.max(1, to - from)) * (W - PAD - 8);
  const y = (v) => 8 + (1 - v / max) * (H - 24);
  const path = (values) => values.map((v, i) => (v === null ? null : `${x(ts[i])},${y(v)}`))
    .reduce((acc, p) => {
      if (p === null) acc.push([]);
      else acc[acc.length - 1].push(p);
      return acc;
    }, [[]]).filter((seg) => seg.length);
  const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2));
  return (
    <figure class="chart" id={id}>
      <figcaption>{title} <span class="muted">{unit}</span>{' '}
        {series.length > 1 && series.map((s) => <span class={`key ${s.cls}`}>{s.name} </span>)}
      </figcaption>
      <svg width={W} height={H} role="img" aria-label={title} data-points={ts.length}>
        <line class="axis" x1={PAD} x2={W - 8} y1={H - 16} y2={H - 16} />
        <text class="muted" x={PAD - 4} y={12} text-anchor="end">{fmt(max)}</text>
        <text class="muted" x={PAD - 4} y={H - 16} text-anchor="end">0</text>
        <text class="muted" x={PAD} y={H - 2}>{fmtTime(from, zone)}</text>
        <text class="muted" x={W - 8} y={H - 2} text-anchor="end">{fmtTime(to, zone)}</text>
        {series.map((s) => path(s.values).map((seg) => (
          seg.length === 1
            ? <circle class={s.cls} cx={seg[0].split(',')[0]} cy={seg[0].split(',')[1]} r="2" />
            : <polyline class={s.cls} points={seg.join(' ')} />
        )))}
        {markers.map((m) => (
          <g class="marker" data-label={m.label}>
            <line x1={x(m.at_ms)} x2={x(m.at_ms)} y1={4} y2={H - 16} />
            <text x={x(m.at_ms) + 3} y={12}>{m.label}</text>
            <title>{`${m.label} · ${fmtTime(m.at_ms, zone)}${m.note ? ' · ' + m.note : ''}`}</title>
          </g>
        ))}
      </svg>
    </figure>
  );
}

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

export function History({ who }) {
  const zone = useZone();
  const paging = usePaging('/history', KEYS);
  const { filters } = paging;
  const range = RANGES.includes(filters.range) ? filters.range : '24h';
  const [handler, setHandler] = useState(filters.handler);
  const poll = usePoll(() => api('GET', '/history', {
    handler: filters.handler, band: filters.handler ? '' : filters.band, since: range,
  }), 60000, KEYS.map((k) => filters[k]));
  const d = poll.data;
  const pts = d ? d.points : [];
  const ts = pts.map((p) => p.t);
  const pct = (key, q) => pts.map((p) => (p[key].count ? p[key][q] : null));
  const common = d && { ts, markers: d.markers, from: d.since_ms, to: d.until_ms, zone };
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
            <button type="button" data-range={r} class={r === range ? 'active' : ''}
              onClick={() => paging.go({ ...filters, range: r })}>{r}</button>
          ))}
        </span>
      </form>
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
              {d.markers.map((m) => (
                <li data-label={m.label}><strong>{m.label}</strong>{' '}
                  <span class="when">{fmtTime(m.at_ms, zone)}</span>
                  {m.note && ` · ${m.note}`}{m.actor && <span class="muted"> · {m.actor}</span>}</li>
              ))}
            </ul>
          )}
        </>
      )}
      {can(who, 'operator') && <AddMarker poll={poll} />}
    </div>
  );
}
