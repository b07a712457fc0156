// The live view's page: plain DOM, no framework, nothing fetched but this server's own API.
// Every value from the server is written as text (textContent), never as markup, except the
// diagram, which is the SVG the server rendered from the machine definition.

const $ = (id) => document.getElementById(id);
let flow = null;
let shownDiagram = null;

const api = async (path, body) => {
  const response = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return response.json();
};

const time = (ms) => (ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC');

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};

const showError = (error) => {
  $('error').textContent = error === null || error === undefined ? '' : `${error.code}: ${error.message}`;
};

const showDiagram = async (machine) => {
  if (shownDiagram === machine) return;
  const svg = await (await fetch(`/api/diagram/${machine}.svg`)).text();
  $('diagram').innerHTML = svg;
  const element = $('diagram').querySelector('svg');
  // Graphviz sizes the SVG in points; the page scales it to the space it has.
  element.removeAttribute('width');
  element.removeAttribute('height');
  shownDiagram = machine;
};

const highlight = (state) => {
  const diagram = $('diagram');
  for (const node of diagram.querySelectorAll('.current, .active')) node.classList.remove('current', 'active');
  for (const id of state.activeIds) document.getElementById(id)?.classList.add('active');
  for (const id of state.currentIds) document.getElementById(id)?.classList.add('current');
  diagram.dataset.current = state.currentStates.join(' ');
  const first = state.currentIds.length > 0 ? document.getElementById(state.currentIds[0]) : null;
  first?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
};

const fieldInput = (field) => {
  if (field.kind === 'bool') return el('input', { type: 'checkbox', name: field.name, checked: field.value === true });
  if (field.kind === 'choice') {
    const select = el('select', { name: field.name });
    for (const choice of field.choices) select.append(el('option', { value: choice, selected: choice === field.value }, choice));
    return select;
  }
  return el('input', { type: 'text', name: field.name, value: String(field.value), placeholder: field.kind === 'list' ? 'comma, separated' : field.optional ? 'optional' : '' });
};

const eventForm = (event, actors) => {
  const as = el('select', { name: '$as', title: 'whom the event is sent as' });
  for (const actor of actors) as.append(el('option', { value: actor, selected: actor === event.as }, actor));
  const form = el('form', { className: 'event', dataset: { testid: `event-${event.type}`, type: event.type } });
  form.append(el('div', { className: 'head' }, el('button', { type: 'submit' }, event.type), el('span', {}, 'as '), as));
  for (const field of event.fields) form.append(el('label', {}, `${field.name}${field.optional ? ' (optional)' : ''}`, fieldInput(field)));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = {};
    for (const input of form.querySelectorAll('input, select')) {
      if (input.name === '$as') continue;
      values[input.name] = input.type === 'checkbox' ? input.checked : input.value;
    }
    const result = await api(`/api/flows/${flow.flowId}/events`, { type: event.type, values, as: as.value });
    showError(result.ok ? null : result.error);
    if (result.flow) await render(result.flow);
  });
  return form;
};

const renderSteps = (steps) => {
  const list = $('effects');
  list.replaceChildren();
  for (const step of steps) {
    const item = el('li', {}, `${time(step.at).slice(11, 19)} ${step.event} → ${step.to}`);
    for (const effect of step.effects) item.append(el('span', { className: 'effect' }, `${effect.type} ${JSON.stringify(effect.params)}`));
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
};

const render = async (state) => {
  flow = state;
  await showDiagram(state.machine);
  highlight(state);
  const status = $('status');
  status.dataset.state = state.state;
  status.dataset.status = state.status;
  status.replaceChildren(`${state.machine} `, el('b', {}, state.state), state.status === 'done' ? ' (done)' : ` · next deadline ${time(state.nextDeadline)}`);
  $('now').textContent = time(state.now);
  const events = $('events');
  events.replaceChildren();
  if (state.events.length === 0) events.append(el('p', {}, state.status === 'done' ? 'The flow has ended.' : 'Nothing a client can send here: wait for a deadline (move the clock).'));
  for (const event of state.events) events.append(eventForm(event, state.actors));
  $('view').textContent = JSON.stringify(state.view, null, 2);
  $('context').textContent = JSON.stringify(state.context, null, 2);
  renderSteps(state.steps);
  await refreshFlows();
};

const refreshFlows = async () => {
  const { flows, now } = await api('/api/flows');
  $('now').textContent = time(now);
  const list = $('flow-list');
  list.replaceChildren();
  for (const f of flows) {
    const button = el('button', { type: 'button' }, `${f.machine}: ${f.state}`);
    button.addEventListener('click', async () => {
      showError(null);
      await render(await api(`/api/flows/${f.flowId}`));
    });
    list.append(el('li', { className: flow && flow.flowId === f.flowId ? 'selected' : '' }, button));
  }
};

const loadMachines = async () => {
  const { machines, now } = await api('/api/machines');
  $('now').textContent = time(now);
  const list = $('machine-list');
  for (const m of machines) {
    const button = el('button', { type: 'button', title: m.summary, dataset: { testid: `start-${m.name}` } }, m.name);
    button.addEventListener('click', async () => {
      const result = await api('/api/flows', { machine: m.name });
      showError(result.ok ? null : result.error);
      if (result.ok) await render(result.flow);
    });
    list.append(el('li', {}, button));
  }
};

const advance = async (ms) => {
  const result = await api('/api/clock', { ms, flowId: flow ? flow.flowId : undefined });
  $('now').textContent = time(result.now);
  if (result.flow) await render(result.flow);
  else await refreshFlows();
};

$('plus-min').addEventListener('click', () => advance(60_000));
$('plus-hour').addEventListener('click', () => advance(3_600_000));
await loadMachines();
await refreshFlows();
document.body.dataset.ready = 'true';
