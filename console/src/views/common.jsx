// Pieces every view uses: the live / stale indicator and an error line.
import { fmtTime, useZone } from '../time.js';

// <Live poll={usePoll(...)} />: green while fresh, amber once stale.
export function Live({ poll }) {
  const zone = useZone();
  const state = !poll.at ? 'waiting' : poll.stale ? 'stale' : 'live';
  return (
    <span class={`live ${state}`} data-state={state}
      title={poll.error ? poll.error.message : ''}>
      <span class="dot" /> {state}
      {poll.at > 0 && <span class="muted"> · {fmtTime(poll.at, zone)}</span>}
    </span>
  );
}

export function Problem({ error }) {
  if (!error) return null;
  return <p class="error">{error.status ? `${error.status}: ` : ''}{error.message}</p>;
}
