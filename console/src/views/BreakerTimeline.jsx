// A breaker's transitions (GET /api/v1/breakers/{name}/transitions, the
// last 200 the log keeps): useTransitions() reads a breaker's log again
// only when its transition count (the list's "transitions") moved, Strip
// draws the last hour, day or week (or a custom range, which a drag across
// a strip sets) as closed / open / half-open segments
// (the log keeps 200 transitions, 30 days after the last: one read of 200
// covers a week; a strip older than the oldest kept starts in that one's
// "from" state), and
// TransitionList lists them newest first with why.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { fmtTime } from '../time.js';
import { useZoom } from './range.jsx';

const LOG_MAX = 200;
export const SPANS = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3 };

// useTransitions(breakers): {name: [transition, newest first]}, each read
// once per change of the breaker's transition count.
export function useTransitions(breakers) {
  const [logs, setLogs] = useState({});
  const seen = useRef({});
  const key = breakers.map((b) => `${b.name}:${b.transitions}`).join(' ');
  useEffect(() => {
    for (const b of breakers) {
      if (seen.current[b.name] === b.transitions) continue;
      seen.current[b.name] = b.transitions;
      api('GET', `/breakers/${encodeURIComponent(b.name)}/transitions`, { limit: LOG_MAX })
        .then((r) => setLogs((l) => ({ ...l, [b.name]: r.transitions })))
        .catch(() => { seen.current[b.name] = undefined; });
    }
  }, [key]);
  return logs;
}

// The segments [{from, to, state}] of the span [start, end] from the
// transitions (newest first) and the state now.
export function segments(list, state, start, end) {
  const asc = [...(list || [])].reverse().filter((t) => t.at_ms <= end);
  const before = asc.filter((t) => t.at_ms <= start);
  const inside = asc.filter((t) => t.at_ms > start);
  let cur = before.length ? before[before.length - 1].to : inside.length ? inside[0].from : state;
  let at = start;
  const out = [];
  for (const t of inside) {
    if (t.at_ms > at) out.push({ from: at, to: t.at_ms, state: cur });
    cur = t.to;
    at = t.at_ms;
  }
  out.push({ from: at, to: end, state: cur });
  return out;
}

const SW = 240, SH = 14;

// the shortest range a drag across a strip makes
export const ZOOM_MIN_MS = 10000;

// <Strip name list state start end />: one coloured bar per segment of
// [start, end] (the last span up to now, or a custom range), a title on
// each for its state and times. A drag across it calls onZoom(fromIso,
// toIso) (range.jsx's useZoom, at least ZOOM_MIN_MS); a click that is not
// the end of a drag calls onClick.
export function Strip({ name, list, state, start, end, zone, onClick, onZoom }) {
  const x = (t) => ((t - start) / Math.max(1, end - start)) * SW;
  const zoom = useZoom((px) => start + (Math.min(Math.max(px, 0), SW) / SW) * (end - start), onZoom, ZOOM_MIN_MS);
  return (
    <svg class="strip zoomable" width={SW} height={SH} data-strip={name} data-from={start} data-to={end}
      onClick={() => zoom.dragged() || onClick()} {...zoom.handlers}
      role="img" aria-label={`${name} from ${fmtTime(start, zone)} to ${fmtTime(end, zone)}`}>
      {segments(list, state, start, end).map((s) => (
        <rect class={`seg ${s.state}`} data-state={s.state} x={x(s.from)} y={0}
          width={Math.max(1, x(s.to) - x(s.from))} height={SH}>
          <title>{`${s.state.replace('_', ' ')} · ${fmtTime(s.from, zone)} → ${fmtTime(s.to, zone)}`}</title>
        </rect>
      ))}
      {zoom.sel && <rect class="zoom-sel" x={zoom.sel.x} y={0} width={zoom.sel.w} height={SH} />}
    </svg>
  );
}

export function TransitionList({ name, list, zone }) {
  if (!list) return <p class="muted">Reading {name}'s transitions…</p>;
  return (
    <>
      <h3>Transitions of {name} <span class="muted">(the last {LOG_MAX} are kept, 30 days after the last)</span></h3>
      {!list.length ? <p class="muted">No transition logged.</p> : (
        <table class="transitions" id="breaker-transitions" data-breaker={name}>
          <thead><tr><th>time</th><th>from</th><th>to</th><th>why</th></tr></thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.gen} data-gen={t.gen} data-to={t.to}>
                <td>{fmtTime(t.at_ms, zone)}</td>
                <td><span class={`state ${t.from}`}>{t.from.replace('_', ' ')}</span></td>
                <td><span class={`state ${t.to}`}>{t.to.replace('_', ' ')}</span></td>
                <td>{t.why}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
