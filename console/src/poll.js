// usePoll(fn, ms): call fn now and every ms while the tab is visible;
// polling pauses in a hidden tab and catches up when it is shown again.
// Returns {data, error, at, stale, reload}: stale once the last success
// is older than two periods (or the last call failed). ms 0: call once;
// ms null: not at all (useLive while its stream is on).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export function usePoll(fn, ms, deps) {
  const [state, setState] = useState({ data: null, error: null, at: 0 });
  const [now, setNow] = useState(Date.now());
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const seq = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const data = await fnRef.current();
      if (mine === seq.current) setState({ data, error: null, at: Date.now() });
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ ...s, error }));
    }
  }, []);

  useEffect(() => {
    let timer = null;
    const tick = () => {
      setNow(Date.now());
      reload();
    };
    const start = () => {
      if (timer === null && !document.hidden && ms) {
        tick();
        timer = setInterval(tick, ms);
      }
    };
    const stop = () => {
      if (timer !== null) clearInterval(timer);
      timer = null;
    };
    const onVisibility = () => (document.hidden ? stop() : start());
    if (ms === 0) reload();
    start();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      seq.current++;
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, deps || []);

  const stale = !!state.error || (!!ms && state.at > 0 && now - state.at > 2 * ms);
  return { ...state, stale, reload };
}
