'use strict';
// The status page of onex-host (host/server/ui.go). No framework and no build step. It
// polls ../v1/status every POLL_MS, reads the admin-only journal every SLOW_MS, streams
// ../v1/events with fetch (EventSource cannot send a bearer token) and draws with
// textContent only: nothing the server sends is ever parsed as HTML.

const POLL_MS = 500; // a call shows within one poll plus one fetch of it
const SLOW_MS = 2000; // the journal and the reducers: reading them costs more
const RETRY_MS = 2000; // after a failed poll or a dropped event stream
const EVENTS_KEPT = 50;
const REDUCER_KEYS = 20; // keys shown per reducer node
const TOKEN_KEY = 'onex-host.token';

const $ = (id) => document.getElementById(id);
const apiURL = (path) => new URL('../' + path, location.href);

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let authOn = false;
let role = '';
let features = {};
let reducerNodes = []; // the reducer nodes of the last status, by name
let gen = 0; // bumped by start and stop: a poll of an older generation ends
let pollTimer = 0;
let pollFailed = false;
let lastSlow = 0;
let stream = null; // the AbortController of the event stream
const fetchTimes = []; // the last few status fetches' durations, in ms

class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// api sends one request with the token and returns the decoded JSON body.
async function api(method, path) {
  const resp = await fetch(apiURL(path), { method, headers: authHeaders(), cache: 'no-store' });
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    throw new HTTPError(resp.status, (body && body.error && body.error.message) || resp.statusText);
  }
  return body;
}

function authHeaders() {
  return token ? { Authorization: 'Bearer ' + token } : {};
}

function say(text) {
  $('message').textContent = text;
  $('message').hidden = !text;
}

function setText(el, text) {
  text = String(text);
  if (el.textContent !== text) el.textContent = text;
}

const num = (n) => (n || 0).toLocaleString('en');
const pct = (n) => (n || 0).toFixed(1) + ' %';
const ms = (n) => (!n ? '–' : n < 1 ? (n * 1000).toFixed(0) + ' µs' : n < 1000 ? n.toFixed(1) + ' ms' : (n / 1000).toFixed(2) + ' s');

// ---- token -------------------------------------------------------------------------

function showToken(ask) {
  $('token-form').hidden = !ask;
  $('forget').hidden = !authOn || ask || !token;
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  $('token').value = '';
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  say('');
  start();
});

$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = '';
  stop();
  say('Token forgotten.');
  showToken(true);
});

// ---- polling -----------------------------------------------------------------------

function start() {
  stop();
  showToken(false);
  poll(gen);
  openEvents();
}

function stop() {
  gen++;
  clearTimeout(pollTimer);
  pollTimer = 0;
  if (stream) stream.abort();
  stream = null;
}

// refused handles a 401: the token is wrong or missing; nothing more is asked until
// another is given.
function refused() {
  stop();
  sessionStorage.removeItem(TOKEN_KEY);
  token = '';
  say('The host refused the token (401). Give a token of role invoke, or admin for the actions and the journal.');
  showToken(true);
}

async function poll(my) {
  pollTimer = 0;
  const started = performance.now();
  let next = POLL_MS;
  if (!document.hidden) {
    try {
      const s = await api('GET', 'v1/status');
      noteFetch(performance.now() - started);
      render(s);
      if (performance.now() - lastSlow >= SLOW_MS) {
        lastSlow = performance.now();
        await slow();
      }
      if (pollFailed) say('');
      pollFailed = false;
    } catch (err) {
      if (my !== gen) return;
      if (err.status === 401) return refused();
      say('Cannot read the status: ' + err.message);
      pollFailed = true;
      next = RETRY_MS;
    }
  }
  if (my !== gen) return; // stopped meanwhile
  // A fixed cadence: the next poll starts POLL_MS after this one started.
  pollTimer = setTimeout(poll, Math.max(0, next - (performance.now() - started)), my);
}

function noteFetch(d) {
  fetchTimes.push(d);
  if (fetchTimes.length > 4) fetchTimes.shift();
  // The slowest of the last few fetches: the browser test bounds its wait with it.
  document.body.dataset.fetchMs = Math.ceil(Math.max(...fetchTimes));
}

// slow reads what is not in /v1/status: the journal and the reducers.
async function slow() {
  if (features.journal && role === 'admin') {
    try {
      renderJournal(await api('GET', 'v1/journal?state=pending&state=active&state=failed&limit=50'));
    } catch (err) {
      setText($('journal-note'), 'Cannot read the journal: ' + err.message);
    }
  }
  if (features.workflows) {
    try {
      renderWorkflows((await api('GET', 'v1/workflows?limit=50')).workflows || []);
    } catch (err) {
      $('workflows-section').hidden = true;
    }
  }
  if (features.reducers) {
    try {
      renderReducers(await Promise.all(reducerNodes.map(async (name) => {
        const base = 'v1/reducers/' + encodeURIComponent(name);
        const [keys, dead] = await Promise.all([
          api('GET', base + '/keys?limit=' + REDUCER_KEYS), api('GET', base + '/dead-letters')]);
        return { name, keys: keys.keys || [], more: !!keys.next_cursor, dead: (dead.dead_letters || []).length };
      })));
    } catch (err) {
      setText($('reducers-note'), 'Cannot read the reducers: ' + err.message);
    }
  }
}

// ---- rendering ---------------------------------------------------------------------

// rows makes tbody's rows match items, keyed by key(item); cells(item) gives each row's
// cells as {field, text, cls, title} or {field, make} (made once: buttons). Rows are
// updated in place, so a button under the pointer survives a refresh.
function rows(tbody, items, key, cells) {
  const keep = new Set();
  let prev = null;
  for (const item of items) {
    const k = key(item);
    keep.add(k);
    let tr = [...tbody.rows].find((r) => r.dataset.key === k);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.key = k;
    }
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (tr !== want) tbody.insertBefore(tr, want);
    cells(item).forEach((c, i) => {
      let td = tr.cells[i];
      if (!td) {
        td = tr.insertCell();
        td.dataset.field = c.field;
        if (c.make) td.append(...c.make());
      }
      if (c.make) return;
      setText(td, c.text);
      td.className = c.cls || '';
      if (c.title) td.title = c.title;
    });
    prev = tr;
  }
  for (const tr of [...tbody.rows]) if (!keep.has(tr.dataset.key)) tr.remove();
}

function render(s) {
  role = s.role;
  features = s.features || {};
  reducerNodes = (s.nodes || []).filter((n) => n.kind === 'reducer').map((n) => n.name);
  document.body.classList.toggle('admin', role === 'admin');
  const quarantined = s.quarantine && s.quarantine.quarantined;
  const ready = $('ready');
  setText(ready, !s.ready ? 'not ready' : quarantined ? 'quarantined' : 'ready');
  ready.className = 'badge ' + (!s.ready ? 'warn' : quarantined ? 'bad' : 'ok');
  setText($('role'), s.auth ? 'role ' + role : 'auth off');
  setText($('updated'), 'updated ' + new Date(s.time).toLocaleTimeString());
  showToken(false);

  rows($('nodes').tBodies[0], s.nodes, (n) => n.name, (n) => [
    { field: 'name', text: n.name + ' (' + n.kind + ')' + (n.quarantined ? ' quarantined' : ''), cls: n.quarantined ? 'bad' : '' },
    { field: 'calls', text: num(n.calls), cls: 'num' },
    { field: 'errors', text: num(n.errors), cls: 'num' + (n.errors ? ' bad' : '') },
    { field: 'p50', text: ms(n.p50_ms), cls: 'num' },
    { field: 'p99', text: ms(n.p99_ms), cls: 'num' },
    // An FSM node runs in the host: no plugin, no pool.
    { field: 'pool', text: n.flavour === 'fsm' ? '–' : n.pool.in_use + ' / ' + n.pool.idle + ' / ' + n.pool.max + (n.pool.waiting ? ' (' + n.pool.waiting + ' waiting)' : ''), cls: n.pool.waiting ? 'warn' : '' },
    { field: 'version', text: n.version },
    { field: 'flavour', text: n.flavour },
    { field: 'execution', text: n.execution },
    { field: 'digest', text: n.digest.replace(/^sha256:/, '').slice(0, 12), title: n.digest },
  ]);

  renderBreakers(s.breakers);

  const c = s.cache;
  setText($('cache-local-rate'), pct(c.local.hit_rate));
  setText($('cache-local-hits'), num(c.local.hits));
  setText($('cache-local-entries'), num(c.local.entries) + ' of ' + num(c.local.max));
  setText($('cache-shared-rate'), c.shared.configured ? pct(c.shared.hit_rate) : '–');
  setText($('cache-shared-hits'), num(c.shared.hits));
  setText($('cache-shared-configured'), c.shared.configured ? 'of the local misses' : 'not configured (no cluster cache)');
  setText($('cache-misses'), num(c.stats.misses));
  setText($('cache-joined'), num(c.stats.joined));
  setText($('cache-waiting'), num(c.stats.waiting));

  const e = s.effects;
  setText($('effects-open'), num(e.open));
  setText($('effects-stuck'), num(e.stuck));
  $('effects-stuck').className = e.stuck ? 'bad' : '';
  setText($('effects-committed'), num(e.committed));
  setText($('effects-rolled-back'), num(e.rolled_back));
  setText($('effects-failed'), num(e.failed));
  setText($('recovery-rolled-back'), num(e.recovery.rolled_back));
  setText($('recovery-failed'), num(e.recovery.failed));
  setText($('recovery-republished'), num(e.recovery.republished));
  if (!features.journal) setText($('journal-note'), 'No journal: the host has no data directory.');
  else if (role !== 'admin') setText($('journal-note'), 'The journal needs an admin token (its records hold before-images).');
  if (!features.journal || role !== 'admin') $('journal').hidden = true;

  $('cluster-section').hidden = !s.cluster && !s.members;
  if (s.cluster) renderKV($('cluster'), flatten(s.cluster));
  renderMembers(s.members);
  if (!features.reducers) $('reducers-section').hidden = true;
  if (!features.workflows) $('workflows-section').hidden = true;
}

// renderMembers shows the cluster's hosts and the nodes each serves (status.members:
// absent without a cluster).
function renderMembers(list) {
  $('members').hidden = !list || list.length === 0;
  $('members-empty').hidden = !list || list.length > 0;
  rows($('members').tBodies[0], list || [], (m) => m.host, (m) => [
    { field: 'host', text: m.host + (m.self ? ' (this host)' : '') },
    { field: 'nodes', text: m.nodes.length ? m.nodes.join(', ') : '–' },
    { field: 'reducers', text: m.reducers ? m.reducers.join(', ') : '–' },
    { field: 'version', text: m.version || '' },
  ]);
}

function renderBreakers(list) {
  $('breakers-empty').hidden = list.length > 0;
  rows($('breakers').tBodies[0], list, (b) => b.service, (b) => [
    { field: 'service', text: b.service },
    { field: 'state', text: b.state + (b.disabled ? ' (disabled)' : ''), cls: b.state === 'open' ? 'bad' : b.state === 'half-open' ? 'warn' : 'ok' },
    { field: 'actions', make: () => ['force-open', 'force-close', 'reset'].map(actionButton) },
    { field: 'failures', text: num(b.failures), cls: 'num' },
    { field: 'rejected', text: num(b.rejected), cls: 'num' },
    { field: 'successes', text: num(b.successes), cls: 'num' },
    { field: 'late', text: num(b.late), cls: 'num' },
    { field: 'canceled', text: num(b.canceled), cls: 'num' },
    { field: 'retry', text: b.retry_after_seconds ? b.retry_after_seconds.toFixed(1) + ' s' : '', cls: 'num' },
  ]);
  for (const td of $('breakers').querySelectorAll('td[data-field="actions"]')) td.classList.add('admin');
}

function actionButton(action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.dataset.action = action;
  b.textContent = action.replace('-', ' ');
  return b;
}

$('breakers').addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  const service = b.closest('tr').dataset.key;
  try {
    renderBreakers(await api('POST', 'v1/breakers/' + b.dataset.action + '?service=' + encodeURIComponent(service)));
  } catch (err) {
    say(b.dataset.action + ' ' + service + ': ' + err.message);
  }
});

$('cache-clear').addEventListener('click', async () => {
  if (!confirm('Clear both cache levels?')) return;
  try {
    await api('DELETE', 'v1/cache');
  } catch (err) {
    say('Clearing the cache: ' + err.message);
  }
});

function renderJournal(recs) {
  setText($('journal-note'), recs.length
    ? 'pending/active: running now, or left by a crash and not yet rolled back; failed: a compensation failed (onex-host journal retry).'
    : 'None: every transaction in the journal committed or rolled back.');
  $('journal').hidden = recs.length === 0;
  rows($('journal').tBodies[0], recs, (r) => r.snapshot.id, (r) => [
    { field: 'id', text: r.snapshot.id },
    { field: 'node', text: r.snapshot.node },
    { field: 'operation', text: r.snapshot.operation_id || '' },
    { field: 'state', text: r.snapshot.state, cls: r.snapshot.state === 'failed' ? 'bad' : 'warn' },
    { field: 'operations', text: num((r.snapshot.operations || []).length), cls: 'num' },
    { field: 'updated', text: new Date(r.updated_at).toLocaleString() },
  ]);
}

// WORKFLOWS: GET /v1/workflows's first page, one row per workflow.
function renderWorkflows(list) {
  $('workflows-empty').hidden = list.length > 0;
  rows($('workflows').tBodies[0], list, (w) => w.workflow_id, (w) => [
    { field: 'id', text: w.workflow_id },
    { field: 'workflow', text: w.workflow },
    { field: 'status', text: w.status, cls: w.status === 'failed' ? 'bad' : w.status === 'completed' ? '' : 'warn' },
    { field: 'steps', text: num(w.done) + '/' + num(w.steps), cls: 'num' },
    { field: 'updated', text: new Date(w.updated_at).toLocaleString() },
  ]);
  $('workflows-section').hidden = false;
}

// REDUCERS: one row per reducer node: its first keys with their sequence numbers, and
// its dead letters (events whose fold failed; POST .../dead-letters/retry applies one).
function renderReducers(list) {
  rows($('reducers').tBodies[0], list, (n) => n.name, (n) => [
    { field: 'node', text: n.name },
    { field: 'keys', text: num(n.keys.length) + (n.more ? '+' : ''), cls: 'num' },
    { field: 'sequences', text: n.keys.map((k) => k.key + ' #' + k.sequence).join(', ') || '–' },
    { field: 'dead', text: num(n.dead), cls: n.dead ? 'num bad' : 'num' },
  ]);
  setText($('reducers-note'), '');
  $('reducers-section').hidden = false;
}

// flatten turns {"nats": {"status": "CONNECTED"}} into [["nats.status", "CONNECTED"]].
function flatten(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? flatten(v, prefix + k + '.') : [[prefix + k, Array.isArray(v) ? v.join(', ') : v]]);
}

function renderKV(dl, pairs) {
  const els = pairs.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }),
    Object.assign(document.createElement('dd'), { textContent: String(v) })]);
  if (dl.textContent !== els.map((e) => e.textContent).join('')) dl.replaceChildren(...els);
}

// ---- events ------------------------------------------------------------------------

// openEvents reads the server-sent event stream with fetch, so that the token goes in a
// header; it reconnects after RETRY_MS when the stream drops.
async function openEvents() {
  const ctl = new AbortController();
  stream = ctl;
  setText($('events-state'), 'connecting');
  try {
    const resp = await fetch(apiURL('v1/events'), { headers: authHeaders(), signal: ctl.signal, cache: 'no-store' });
    if (resp.status === 401) return refused();
    if (!resp.ok || !resp.body) throw new Error('status ' + resp.status);
    setText($('events-state'), 'live');
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        dispatch(buf.slice(0, end));
        buf = buf.slice(end + 2);
      }
    }
    throw new Error('the stream ended');
  } catch (err) {
    if (ctl.signal.aborted) return;
    setText($('events-state'), 'reconnecting');
    setTimeout(() => { if (stream === ctl) openEvents(); }, RETRY_MS);
  }
}

// dispatch handles one server-sent event record ("event:", "id:", "data:" lines).
function dispatch(record) {
  const data = record.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
  if (!data) return; // a comment
  let e;
  try {
    e = JSON.parse(data);
  } catch {
    return;
  }
  const li = document.createElement('li');
  li.dataset.id = e.envelope_id || '';
  const when = e.timestamp ? new Date(e.timestamp) : new Date();
  li.append(Object.assign(document.createElement('span'), { className: 'muted', textContent: when.toLocaleTimeString() + ' ' }),
    Object.assign(document.createElement('span'), { className: 'type', textContent: e.event_type }),
    Object.assign(document.createElement('code'), { textContent: e.topic + (e.correlation_id ? ' · ' + e.correlation_id : '') }));
  const list = $('events');
  $('events-empty').hidden = true;
  list.prepend(li);
  while (list.children.length > EVENTS_KEPT) list.lastChild.remove();
}

// ---- start -------------------------------------------------------------------------

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && pollTimer) {
    clearTimeout(pollTimer);
    poll(gen);
  }
});

(async () => {
  try {
    authOn = (await (await fetch(apiURL('ui/config.json'), { cache: 'no-store' })).json()).auth;
  } catch (err) {
    say('Cannot reach the host: ' + err.message);
    return;
  }
  if (authOn && !token) {
    showToken(true);
    setText($('ready'), 'token needed');
    return;
  }
  start();
})();
