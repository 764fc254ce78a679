// Times as the user chose (UTC or local, kept in localStorage), and short
// durations.
import { useEffect, useState } from 'preact/hooks';

const KEY = 'drover.tz';
const listeners = new Set();

export function getZone() {
  return localStorage.getItem(KEY) === 'local' ? 'local' : 'utc';
}

export function setZone(zone) {
  localStorage.setItem(KEY, zone);
  listeners.forEach((f) => f(zone));
}

// useZone(): the current choice, re-rendering when it changes.
export function useZone() {
  const [zone, set] = useState(getZone());
  useEffect(() => {
    listeners.add(set);
    return () => listeners.delete(set);
  }, []);
  return zone;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// fmtTime(ms, zone) -> "2026-12-05 07:12:03.123 UTC" or local time.
export function fmtTime(ms, zone) {
  if (!ms) return '—';
  const d = new Date(ms);
  if (zone === 'local') {
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
      `${pad(d.getMilliseconds(), 3)}`
    );
  }
  return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}

// fmtDuration(ms) -> "850 ms", "12.3 s", "4m 05s", "2h 10m".
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}
