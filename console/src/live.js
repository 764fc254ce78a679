// The tab's one event stream (GET /api/v1/live), shared by the views that
// use it: a `queues` event every INTERVAL_S, a `breaker` event for each
// breaker transition (a `breaker_gap` when some were lost), a `task` event
// when a task a view watches changes. The stream is
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
// useStream(handlers, tasks): with task ids, the stream watches them too
// (?task=ID: a `task` event with GET /tasks/ID's reply whenever its
// state, attempt or update time changes); the stream is opened again when
// the ids its users watch change.
// useLiveTask(id, fn, ms): task ID's GET reply by the stream's `task`
// events, falling back to usePoll(fn, ms); {data, error, at, stale,
// reload, mode} as useLive's (a null state: the 404 GET would give).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getToken } from './api.js';
import { usePoll } from './poll.js';

const INTERVAL_S = 2;     // between two `queues` events
const RETRY_MS = 30000;   // polling this long before the stream again
const EVENTS = ['queues', 'problem', 'dlq', 'breaker', 'breaker_gap', 'task'];
const STALE_MS = 3 * INTERVAL_S * 1000;

const staleSince = (at, now) => at > 0 && !document.hidden && now - at > STALE_MS;

// the ids the users watch, in order, at most 8 (the server's bound)
function watched() {
  const ids = new Set();
  stream.users.forEach((u) => u.tasks.current.forEach((id) => ids.add(id)));
  return [...ids].sort().slice(0, 8);
}

function streamUrl() {
  const u = new URL('/api/v1/live', location.origin);
  u.searchParams.set('interval', INTERVAL_S);
  for (const id of watched()) u.searchParams.append('task', id);
  const token = getToken();
  if (token) u.searchParams.set('access_token', token);
  return u;
}

// the stream (its url: the ids it watches) and its users ({handlers: ref,
// tasks: ref, update()})
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
  const url = streamUrl();
  const es = new EventSource(url);
  stream.es = es;
  stream.url = url.href;
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

// the stream again when the ids watched changed (a new stream: its first
// events are the watched tasks' records and a snapshot)
function rewatch() {
  if (stream.es && stream.url !== streamUrl().href) close();
  open();
}

document.addEventListener('visibilitychange', () => (document.hidden ? close() : open()));

const NONE = [];

export function useStream(handlers, tasks = NONE) {
  const ref = useRef(handlers);
  ref.current = handlers;
  const taskRef = useRef(tasks);
  taskRef.current = tasks;
  const [, setSeen] = useState(0);
  const [now, setNow] = useState(Date.now());
  const key = tasks.join(',');
  useEffect(() => {
    if (stream.users.size) rewatch();
  }, [key]);
  useEffect(() => {
    const user = { handlers: ref, tasks: taskRef, update: () => setSeen((n) => n + 1) };
    stream.users.add(user);
    rewatch();
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearInterval(tick);
      stream.users.delete(user);
      if (!stream.users.size) close();
      else if (user.tasks.current.length) rewatch();
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

export function useLiveTask(id, fn, ms) {
  const [got, setGot] = useState({ data: null, at: 0, id });
  const live = useStream({
    task: (data) => {
      if (data.id === id) setGot({ data, at: Date.now(), id });
    },
  }, [id]);
  // no call while the stream is on: the task's first event comes at once
  const poll = usePoll(fn, live.mode === 'live' ? null : ms, [id, live.mode]);
  if (live.mode === 'live' && got.id === id && got.at >= poll.at && got.at > 0) {
    const error = got.data.state === null
      ? new ApiError(404, `no state for task ${id} (not run yet by a worker that records state, or expired)`) : null;
    // fresh while the stream is: its events come only when the task changes
    return { ...poll, data: error ? null : got.data, error, at: live.at, stale: live.stale, mode: 'live' };
  }
  // a read after an action, newer than the last event
  if (live.mode === 'live' && poll.at > 0) return liveView(live, poll);
  return { ...poll, mode: 'polling' };
}
