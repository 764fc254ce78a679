// What a task sent again may change, as the API's retry and resubmit
// bodies take it (POST /api/v1/tasks/ID/retry, /dlq/resubmit, /dlq/jobs):
// payload patches, one a line, each "KEY.PATH=VALUE" or a JSON merge
// patch object (droverctl's --set), applied in order; a priority (1-10);
// max attempts (1-1000); for a resubmission also "reset attempts" and,
// where the call takes it, "force" (also what was resubmitted before).
// <TaskOptions id="retry" value={o} onChange={setO} extra={['reset', 'force']} />
// draws the fields (ids ID-set, ID-priority, ID-max-attempts, ID-reset,
// ID-force); optionsBody(o) makes the body's fields, or throws on a line
// that starts like JSON but is not an object.
import { jsonObject } from './common.jsx';

export const NO_OPTIONS = { set: '', priority: '', max_attempts: '', reset: false, force: false };

function patches(text) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean)
    .map((l, i) => (l.startsWith('{') ? jsonObject(l, `patch line ${i + 1}`) : l));
}

export function optionsBody(o) {
  const b = {};
  const set = patches(o.set);
  if (set.length) b.set = set;
  // the API answers a bad number with 400 and its pointer
  if (o.priority !== '') b.priority = Number(o.priority);
  if (o.max_attempts !== '') b.max_attempts = Number(o.max_attempts);
  if (o.reset) b.reset_attempts = true;
  if (o.force) b.force = true;
  return b;
}

// A line for the dry run's answer: what the options change.
export function optionsSummary(o) {
  const b = optionsBody(o);
  const parts = [];
  if (b.set) parts.push(`${b.set.length} payload ${b.set.length === 1 ? 'patch' : 'patches'}`);
  if (b.priority) parts.push(`priority ${b.priority}`);
  if (b.max_attempts) parts.push(`max attempts ${b.max_attempts}`);
  if (b.reset_attempts) parts.push('attempts reset');
  if (b.force) parts.push('forced');
  return parts.length ? parts.join(', ') : 'unchanged';
}

export function TaskOptions({ id, value, onChange, extra = [], disabled }) {
  const field = (k) => (e) => onChange({ ...value, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  return (
    <fieldset class="task-options" disabled={disabled}>
      <label class="set"><span>Payload patches, one a line (<code>KEY.PATH=VALUE</code> or a JSON object)</span>
        <textarea id={`${id}-set`} rows="3" value={value.set} onInput={field('set')}
          placeholder={'quality=80\n{"size": {"width": 640}}'} />
      </label>
      <label>Priority <input id={`${id}-priority`} type="number" min="1" max="10" size="3"
        placeholder="as before" value={value.priority} onInput={field('priority')} /></label>
      <label>Max attempts <input id={`${id}-max-attempts`} type="number" min="1" max="1000" size="5"
        placeholder="as before" value={value.max_attempts} onInput={field('max_attempts')} /></label>
      {extra.includes('reset') && (
        <label><input id={`${id}-reset`} type="checkbox" checked={value.reset} onChange={field('reset')} />
          {' '}reset attempts</label>
      )}
      {extra.includes('force') && (
        <label title="also entries resubmitted before"><input id={`${id}-force`} type="checkbox"
          checked={value.force} onChange={field('force')} /> force</label>
      )}
    </fieldset>
  );
}
