// The header's indicator of how the current view gets its data: each
// view's <Live> reports its state here (reportStatus) and the header shows
// the last one reported (useStatus): 'live' (the event stream), 'polling',
// 'stale' or 'waiting'.
import { useEffect, useState } from 'preact/hooks';

let current = { state: 'waiting', why: '' };
const watchers = new Set();

export function reportStatus(s) {
  if (s.state === current.state && s.why === current.why) return;
  current = s;
  for (const w of watchers) w(s);
}

export function useStatus() {
  const [s, set] = useState(current);
  useEffect(() => {
    watchers.add(set);
    set(current);
    return () => watchers.delete(set);
  }, []);
  return s;
}
