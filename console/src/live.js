// useLive(fn, ms): the Overview's data from the server's event stream
// (GET /api/v1/live, event `queues`), falling back to usePoll(fn, ms) when
// the stream fails; the stream is tried again after RETRY_MS. The stream
// is closed in a hidden tab (the server allows few at once) and polling
// pauses there, as usePoll does. EventSource cannot send headers, so the
// token goes as access_token (taken on that route only). Returns usePoll's
// {data, error, at, stale, reload} and mode: 'live' or 'polling'.
import { useEffect, useState } from 'preact/hooks';
import { getToken } from './api.js';
import { usePoll } from './poll.js';

const INTERVAL_S = 2;     // between two events
const RETRY_MS = 30000;   // polling this long before the stream again

function streamUrl() {
  const u = new URL('/api/v1/live', location.origin);
  u.searchParams.set('interval', INTERVAL_S);
  const token = getToken();
  if (token) u.searchParams.set('access_token', token);
  return u;
}

export function useLive(event, fn, ms) {
  const [mode, setMode] = useState(typeof EventSource === 'undefined' ? 'polling' : 'live');
  const [got, setGot] = useState({ data: null, at: 0 });
  const [now, setNow] = useState(Date.now());
  // no call while the stream is on: its first event comes at once (and a
  // call beside it would find the server's first sample being taken)
  const poll = usePoll(fn, mode === 'live' ? null : ms, [mode]);

  useEffect(() => {
    if (mode !== 'live') {
      const t = setTimeout(() => setMode('live'), RETRY_MS);
      return () => clearTimeout(t);
    }
    let es = null;
    let fails = 0;
    const close = () => {
      if (es) es.close();
      es = null;
    };
    const open = () => {
      if (es || document.hidden) return;
      es = new EventSource(streamUrl());
      es.addEventListener(event, (e) => {
        fails = 0;
        setGot({ data: JSON.parse(e.data), at: Date.now() });
      });
      // the server ends a stream after 10 minutes: the browser reconnects
      // once by itself (with Last-Event-ID); a refusal, or two failures in
      // a row, mean polling
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED || ++fails > 1) {
          close();
          setMode('polling');
        }
      };
    };
    const onVisibility = () => (document.hidden ? close() : open());
    const tick = setInterval(() => setNow(Date.now()), 1000);
    open();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      close();
      clearInterval(tick);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [mode]);

  if (mode === 'live' && got.at >= poll.at && got.at > 0) {
    const stale = !document.hidden && now - got.at > 3 * INTERVAL_S * 1000;
    return { ...poll, data: got.data, error: null, at: got.at, stale, mode };
  }
  return { ...poll, mode: 'polling' };
}
