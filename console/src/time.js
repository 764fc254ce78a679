// Times as the user chose (UTC, local or relative: "3 min ago", kept in
// localStorage), and short durations.
import { useEffect, useState } from 'preact/hooks';

const KEY = 'drover.tz';
const listeners = new Set();

export const ZONES = ['utc', 'local', 'relative'];

export function getZone() {
  const z = localStorage.getItem(KEY);
  return ZONES.includes(z) ? z : 'utc';
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

// fmtAgo(ms, now) -> "12 s ago", "3 min ago", "5 h ago", "2 d ago",
// "in 4 min".
export function fmtAgo(ms, now = Date.now()) {
  const diff = now - ms, a = Math.abs(diff);
  const n = a < 60000 ? `${Math.round(a / 1000)} s`
    : a < 3600000 ? `${Math.round(a / 60000)} min`
    : a < 86400000 ? `${Math.round(a / 3600000)} h`
    : `${Math.round(a / 86400000)} d`;
  if (a < 1000) return 'now';
  return diff >= 0 ? `${n} ago` : `in ${n}`;
}

// fmtTime(ms, zone) -> "2026-12-05 07:12:03.123 UTC", local time, or
// "3 min ago" (zone 'relative').
export function fmtTime(ms, zone) {
  if (!ms) return '—';
  if (zone === 'relative') return fmtAgo(ms);
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
