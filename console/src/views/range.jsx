// Custom time ranges and zoom, for the History view, the schedule
// timeline and the Breakers view's strips: `from` and `to` in the URL (RFC 3339, or anything the API's
// since / until take), a form that shows and reads them in the user's time
// choice (UTC, or local; relative shows UTC in the fields), and a drag
// across a chart that makes the dragged span the range.
import { useEffect, useRef, useState } from 'preact/hooks';
import { fmtTime } from '../time.js';

const pad = (n, w = 2) => String(n).padStart(w, '0');

// fmtInput(ms, zone) -> "2026-12-07 10:00:00", in local time for 'local',
// else UTC: what the range's fields show
export function fmtInput(ms, zone) {
  const d = new Date(ms);
  if (zone === 'local') {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

// parseInput(text, zone) -> ms, or NaN: "YYYY-MM-DD HH:MM[:SS[.mmm]]" in
// the fields' zone (a trailing "UTC" or "Z" makes it UTC), or an RFC 3339
// time with its offset
export function parseInput(text, zone) {
  const t = text.trim();
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?\s*(UTC|Z)?$/i.exec(t);
  if (m) {
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map((v) => Number(v || 0));
    const ms = Number((m[7] || '').padEnd(3, '0'));
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return NaN;
    return zone === 'local' && !m[8]
      ? new Date(y, mo - 1, d, h, mi, s, ms).getTime()
      : Date.UTC(y, mo - 1, d, h, mi, s, ms);
  }
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d)$/.test(t) ? Date.parse(t) : NaN;
}

const iso = (ms) => new Date(ms).toISOString();

// <RangeForm from to zone custom url zoom onRange onReset />: the range shown
// (from, to: ms, the API's since_ms / until_ms) in two fields; Apply
// calls onRange(fromIso, toIso) with a range that ends after it starts,
// else says why; Reset (when custom) goes back to the preset ranges
// (zoom: say that a drag across the chart, or what zoom names, zooms). A
// poll's new range does not overwrite what is being typed: the fields
// follow the answers again once the URL's range (url) or the zone
// changes.
export function RangeForm({ from, to, zone, custom, url, zoom, onRange, onReset }) {
  const [text, setText] = useState({ from: '', to: '' });
  const [why, setWhy] = useState('');
  const typed = useRef(false);
  const show = () => {
    if (from && to) setText({ from: fmtInput(from, zone), to: fmtInput(to, zone) });
  };
  useEffect(() => {
    if (!typed.current) show();
  }, [from, to]);
  useEffect(() => {
    typed.current = false;
    show();
    setWhy('');
  }, [url, zone]);
  const edit = (key) => (e) => {
    typed.current = true;
    setText({ ...text, [key]: e.target.value });
  };
  const apply = (e) => {
    e.preventDefault();
    const f = parseInput(text.from, zone), t = parseInput(text.to, zone);
    if (Number.isNaN(f) || Number.isNaN(t)) {
      setWhy(`not a time: ${Number.isNaN(f) ? text.from : text.to} (YYYY-MM-DD HH:MM:SS)`);
    } else if (t <= f) {
      setWhy('the range must end after it starts');
    } else {
      setWhy('');
      onRange(iso(f), iso(t));
    }
  };
  const tz = zone === 'local' ? 'local' : 'UTC';
  return (
    <form class="filters range" id="range-form" onSubmit={apply}
      data-from={from || ''} data-to={to || ''} data-custom={custom ? '1' : ''}>
      <label>From <input id="range-from" size={19} value={text.from}
        onInput={edit('from')} /></label>
      <label>to <input id="range-to" size={19} value={text.to}
        onInput={edit('to')} /></label>
      <span class="muted">{tz}</span>
      <button type="submit" id="range-apply">Apply</button>
      {custom && <button type="button" id="range-reset" onClick={onReset}>Reset</button>}
      {zone === 'relative' && from && to && (
        <span class="muted"> {fmtTime(from, zone)} → {fmtTime(to, zone)}</span>
      )}
      {why && <span class="error" id="range-error">{why}</span>}
      {zoom && <span class="muted"> · drag across {zoom === true ? 'the chart' : zoom} to zoom</span>}
    </form>
  );
}

// useZoom(toTime, onZoom, minMs): a drag across an <svg> (its own
// coordinates, left to right) becomes onZoom(fromIso, toIso), the span at
// least minMs. Returns the svg's handlers (spread them), the selection to
// draw ({x, w} or null) and dragged(): true once right after a drag (so a
// click that ends it opens nothing).
export function useZoom(toTime, onZoom, minMs) {
  const [sel, setSel] = useState(null);
  const drag = useRef(null);
  const done = useRef(false);
  const at = (e) => {
    const svg = e.currentTarget;
    const r = svg.getBoundingClientRect();
    return ((e.clientX - r.left) * svg.width.baseVal.value) / Math.max(1, r.width);
  };
  const handlers = {
    onMouseDown: (e) => {
      if (e.button !== 0) return;
      drag.current = { x0: at(e), x1: at(e) };
      done.current = false;
      e.preventDefault();   // no text selection
    },
    onMouseMove: (e) => {
      if (!drag.current) return;
      drag.current = { ...drag.current, x1: at(e) };
      setSel({ x: Math.min(drag.current.x0, drag.current.x1), w: Math.abs(drag.current.x1 - drag.current.x0) });
    },
    onMouseUp: () => {
      const d = drag.current;
      drag.current = null;
      setSel(null);
      if (!d || Math.abs(d.x1 - d.x0) < 4) return;
      done.current = true;
      let a = toTime(Math.min(d.x0, d.x1)), b = toTime(Math.max(d.x0, d.x1));
      if (b - a < minMs) {
        const mid = (a + b) / 2;
        a = mid - minMs / 2;
        b = mid + minMs / 2;
      }
      onZoom(iso(Math.round(a)), iso(Math.round(b)));
    },
    onMouseLeave: () => {
      drag.current = null;
      setSel(null);
    },
  };
  const dragged = () => {
    const d = done.current;
    done.current = false;
    return d;
  };
  return { handlers, sel, dragged };
}
