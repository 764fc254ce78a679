// The tab's one event stream (GET /api/v1/live), shared by the views that
// use it: a `queues` event every INTERVAL_S, a `breaker` event for each
// breaker transition (a `breaker_gap` when some were lost). The stream is
// open while a view uses it and the tab is shown (the server allows few at
// once); when it fails, every view that uses it polls instead, and the
// stream is tried again after RETRY_MS. EventSource cannot send headers,
// so the token goes as access_token (taken on that route only). On a
// reconnect the browser sends the last event's id, and the server sends
// the transitions since then before anything else.
//
// useStream(handlers): {mode, at, stale, now}, calling handlers[event](data)
// for each event; mode 'live' or 'polling', at the time of the last event
// of any kind, stale when that is older than STALE_MS in a shown tab.
// liveView(live, poll): what <Live> shows of a view that polls beside the
// stream (useStream's live, usePoll's poll): the stream's time and
// staleness while it is on (stale too when the poll beside it fails), else
// the poll's.
// useLive(event, fn, ms): a view whose data is one event (the Overview:
// `queues`), falling back to usePoll(fn, ms); returns usePoll's {data,
// error, at, stale, reload} and mode.
import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken } from './api.js';
import { usePoll } from './poll.js';

const INTERVAL_S = 2;     // between two `queues` events
const RETRY_MS = 30000;   // polling this long before the stream again
const EVENTS = ['queues', 'problem', 'dlq', 'breaker', 'breaker_gap'];
const STALE_MS = 3 * INTERVAL_S * 1000;

const staleSince = (at, now) => at > 0 && !document.hidden && now - at > STALE_MS;

function streamUrl() {
  const u = new URL('/api/v1/live', location.origin);
  u.searchParams.set('interval', INTERVAL_S);
  const token = getToken();
  if (token) u.searchParams.set('access_token', token);
  return u;
}

// the stream and its users ({handlers: ref, update()})
const stream = {
  es: null,
  mode: typeof EventSource === 'undefined' ? 'polling' : 'live',
  at: 0,
  fails: 0,
  users: new Set(),
};

const notify = () => stream.users.forEach((u) => u.update());

function close() {
  if (stream.es) stream.es.close();
  stream.es = null;
}

function open() {
  if (stream.es || document.hidden || stream.mode !== 'live' || !stream.users.size) return;
  const es = new EventSource(streamUrl());
  stream.es = es;
  for (const name of EVENTS) {
    es.addEventListener(name, (e) => {
      stream.fails = 0;
      stream.at = Date.now();
      const data = JSON.parse(e.data);
      stream.users.forEach((u) => u.handlers.current[name]?.(data));
      notify();
    });
  }
  // the server ends a stream after 10 minutes: the browser reconnects once
  // by itself (with Last-Event-ID); a refusal, or two failures in a row,
  // mean polling
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED || ++stream.fails > 1) {
      close();
      stream.mode = 'polling';
      stream.at = 0;
      setTimeout(() => {
        stream.mode = 'live';
        stream.fails = 0;
        open();
        notify();
      }, RETRY_MS);
      notify();
    }
  };
}

document.addEventListener('visibilitychange', () => (document.hidden ? close() : open()));

export function useStream(handlers) {
  const ref = useRef(handlers);
  ref.current = handlers;
  const [, setSeen] = useState(0);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const user = { handlers: ref, update: () => setSeen((n) => n + 1) };
    stream.users.add(user);
    open();
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearInterval(tick);
      stream.users.delete(user);
      if (!stream.users.size) close();
    };
  }, []);
  const live = stream.mode === 'live';
  return { mode: stream.mode, at: live ? stream.at : 0, stale: live && staleSince(stream.at, now), now };
}

export function liveView(live, poll) {
  return live.mode === 'live' && live.at > 0
    ? { ...poll, at: live.at, stale: live.stale || !!poll.error, mode: 'live' }
    : { ...poll, mode: 'polling' };
}

export function useLive(event, fn, ms) {
  const [got, setGot] = useState({ data: null, at: 0 });
  const live = useStream({ [event]: (data) => setGot({ data, at: Date.now() }) });
  // no call while the stream is on: its first event comes at once (and a
  // call beside it would find the server's first sample being taken)
  const poll = usePoll(fn, live.mode === 'live' ? null : ms, [live.mode]);
  if (live.mode === 'live' && got.at >= poll.at && got.at > 0) {
    // stale by its own event: `problem` events keep the stream alive
    return { ...poll, data: got.data, error: null, at: got.at, stale: staleSince(got.at, live.now), mode: 'live' };
  }
  return { ...poll, mode: 'polling' };
}
