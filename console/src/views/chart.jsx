// Small SVG line charts without a charting library: the History view's
// series and the DLQ depth trend.
import { fmtTime } from '../time.js';
import { useZoom } from './range.jsx';

const W = 720, H = 120, PAD = 44;

// A line chart of series [{name, cls, values}] over the points' times
// \p ts (null values leave a gap), with the markers as vertical lines and
// an optional limit {value, label} as a horizontal one. With onZoom, a
// drag across the chart calls onZoom(fromIso, toIso) (at least minMs).
export function Chart({ id, title, unit, ts, series, markers, from, to, zone, limit, onZoom, minMs }) {
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values.filter((v) => v !== null)),
    limit ? limit.value : 0);
  const x = (t) => PAD + ((t - from) / Math.max(1, to - from)) * (W - PAD - 8);
  const y = (v) => 8 + (1 - v / max) * (H - 24);
  const zoom = useZoom((px) => from + ((Math.min(Math.max(px, PAD), W - 8) - PAD) / (W - PAD - 8)) * (to - from),
    onZoom || (() => {}), minMs || 0);
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
      <svg width={W} height={H} role="img" aria-label={title} data-points={ts.length}
        data-from={from} data-to={to} class={onZoom ? 'zoomable' : ''} {...(onZoom ? zoom.handlers : {})}>
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
        {limit && (
          <g class="limit" data-value={limit.value}>
            <line x1={PAD} x2={W - 8} y1={y(limit.value)} y2={y(limit.value)} />
            <text x={W - 10} y={y(limit.value) - 3} text-anchor="end">{limit.label}</text>
          </g>
        )}
        {zoom.sel && <rect class="zoom-sel" x={zoom.sel.x} y={4} width={zoom.sel.w} height={H - 20} />}
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

// Stacked bars, one per point of \p ts (each \p step ms wide, over [from,
// to]): series [{name, cls, values}] stacked bottom up, a title per bar
// with its time and each series' value. Small (a sparkline) by default.
export function Bars({ id, ts, step, series, from, to, zone, width = 240, height = 28 }) {
  const max = Math.max(1, ...ts.map((_, i) => series.reduce((n, s) => n + s.values[i], 0)));
  const x = (t) => ((t - from) / Math.max(1, to - from)) * width;
  const h = (v) => (v / max) * (height - 2);
  return (
    <svg class="bars" id={id} width={width} height={height} role="img" data-points={ts.length}
      aria-label={`${series.map((s) => s.name).join(', ')} from ${fmtTime(from, zone)} to ${fmtTime(to, zone)}`}>
      <line class="axis" x1={0} x2={width} y1={height - 0.5} y2={height - 0.5} />
      {ts.map((t, i) => {
        let y = height;
        const w = Math.max(1, Math.min(x(t + step), width) - Math.max(x(t), 0) - 1);
        return (
          <g data-t={t}>
            <title>{`${fmtTime(t, zone)}: ${series.map((s) => `${s.values[i]} ${s.name}`).join(', ')}`}</title>
            {series.map((s) => {
              if (!s.values[i]) return null;
              y -= h(s.values[i]);
              return <rect class={s.cls} x={Math.max(x(t), 0)} y={y} width={w} height={h(s.values[i])} />;
            })}
          </g>
        );
      })}
    </svg>
  );
}
