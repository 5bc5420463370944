// The live view of ovfinit watch. Every string shown came from a VM's
// events: it goes into the page as text only (textContent, title,
// dataset), never as HTML. Rows are virtualized: only the rows in view
// exist in the DOM, so a thousand VMs cost a screenful of elements.
'use strict';
(() => {
  const ROW = 56;          // px, as --row in app.css
  const OVERSCAN = 6;      // rows drawn above and below the view
  const byName = new Map(); // instance -> vm
  let order = [];          // every vm, by first event
  let shown = [];          // order, filtered
  let summary = null;
  let filter = 'all', query = '', sort = 'name';
  const collator = new Intl.Collator(undefined, { numeric: true });
  const rank = { 'failed-fatal': 0, 'failed-retry': 1, running: 2, ready: 3 };
  let selected = null;
  let scaleMs = 1;
  let loading = false, reload = false, drawQueued = false;
  const stats = { updates: 0, refreshes: 0, loads: 0, vmsInUpdates: 0 };
  window.ovfinitStats = stats; // for the tests and the benchmark

  const $ = (id) => document.getElementById(id);
  const viewport = $('viewport'), spacer = $('spacer');

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function ms(x) {
    if (x < 1000) return Math.round(x) + ' ms';
    if (x < 60000) return (x / 1000).toFixed(x < 10000 ? 2 : 1) + ' s';
    return Math.floor(x / 60000) + ' min ' + Math.round((x % 60000) / 1000) + ' s';
  }

  function stateText(vm) {
    switch (vm.state) {
      case 'ready': return 'ready';
      case 'failed-fatal': return 'failed (fatal)';
      case 'failed-retry': return 'failed (retry)';
      default: return 'running ' + (vm.percent || 0) + '%';
    }
  }

  // A running step's duration grows by the time since its VM came in.
  function stepDur(vm, st, now) {
    return st.status === 'started' ? st.durationMs + (now - vm._at) : st.durationMs;
  }

  function span(vm, now) {
    let end = vm.bootMs || 0;
    for (const st of vm.steps) end = Math.max(end, st.startMs + stepDur(vm, st, now));
    return end;
  }

  // ---- data -------------------------------------------------------------

  async function load() {
    if (loading) { reload = true; return; }
    loading = true;
    try {
      const r = await fetch('api/vms', { cache: 'no-store', credentials: 'same-origin' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const snap = await r.json();
      stats.loads++;
      const now = performance.now();
      const fresh = new Map();
      for (const vm of snap.vms) {
        const old = byName.get(vm.instance);
        if (old && old.rev > vm.rev) { fresh.set(vm.instance, old); continue; }
        vm._at = now;
        fresh.set(vm.instance, vm);
      }
      byName.clear();
      for (const [k, v] of fresh) byName.set(k, v);
      order = Array.from(byName.values()).sort((a, b) => a.n - b.n);
      if (!summary || snap.summary.rev >= summary.rev) summary = snap.summary;
      rebuild();
    } catch (err) {
      setConn('down', 'cannot load the VMs: ' + err.message);
    } finally {
      loading = false;
      if (reload) { reload = false; load(); }
    }
  }

  function applyUpdate(u) {
    stats.updates++;
    stats.vmsInUpdates += u.vms.length;
    const now = performance.now();
    let added = false;
    for (const vm of u.vms) {
      const old = byName.get(vm.instance);
      if (old && old.rev >= vm.rev) continue;
      vm._at = now;
      byName.set(vm.instance, vm);
      if (!old) { added = true; order.push(vm); } else { order[order.indexOf(old)] = vm; }
    }
    if (added) order.sort((a, b) => a.n - b.n);
    if (!summary || u.summary.rev >= summary.rev) summary = u.summary;
    rebuild();
  }

  function matches(vm) {
    if (filter === 'running' && vm.state !== 'running') return false;
    if (filter === 'ready' && vm.state !== 'ready') return false;
    if (filter === 'failed' && !vm.state.startsWith('failed')) return false;
    if (!query) return true;
    if (vm.instance.toLowerCase().includes(query)) return true;
    if (vm.hostname && vm.hostname.toLowerCase().includes(query)) return true;
    return (vm.addresses || []).some((a) => a.toLowerCase().includes(query));
  }

  function rebuild() {
    shown = order.filter(matches);
    const now = performance.now();
    scaleMs = 1;
    for (const vm of order) { vm._span = span(vm, now); scaleMs = Math.max(scaleMs, vm._span); }
    const byInst = (a, b) => collator.compare(a.instance, b.instance);
    if (sort === 'name') shown.sort(byInst);
    else if (sort === 'failed') shown.sort((a, b) => (rank[a.state] ?? 2) - (rank[b.state] ?? 2) || byInst(a, b));
    else if (sort === 'slow') shown.sort((a, b) => b._span - a._span || byInst(a, b));
    schedule();
  }

  // ---- drawing ----------------------------------------------------------

  function schedule() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => { drawQueued = false; draw(); });
  }

  function draw() {
    drawSummary();
    drawRows();
    if (selected) drawDetail();
    $('shown').textContent = shown.length === order.length ? order.length + ' VMs' : shown.length + ' of ' + order.length + ' VMs';
    $('scale').textContent = 'timeline scale: 0 to ' + ms(scaleMs);
    document.body.dataset.vms = String(order.length);
    document.body.dataset.rev = summary ? String(summary.rev) : '0';
    // For the benchmark: when the page first showed every VM it knows of.
    if (!stats.firstFullDraw && order.length && summary && order.length === summary.total) stats.firstFullDraw = performance.now();
  }

  // waitingOf is what a running VM of a system waits for: the members
  // its member comes after that are not ready, from the latest summary
  // (an update carries only the VMs that changed, the summary every time).
  function waitingOf(vm) {
    if (vm.state !== 'running' || !vm.member) return [];
    const ms = (summary && summary.members) || [];
    const m = ms.find((x) => x.name === vm.member);
    if (!m) return vm.waiting || [];
    return (m.after || []).filter((d) => { const x = ms.find((y) => y.name === d); return x && !x.ready; });
  }

  function drawMembers(s) {
    const box = $('members');
    const ms = s.members || [];
    box.hidden = ms.length === 0;
    const kids = [el('span', 'lbl', 'system')];
    for (const m of ms) {
      const c = el('span', 'member' + (m.ready ? ' ready' : ''), m.name + ' ' + m.readyInstances + '/' + m.count + ' ready');
      c.dataset.member = m.name;
      if (m.after && m.after.length) c.title = 'after ' + m.after.join(', ');
      kids.push(c);
    }
    box.replaceChildren(...kids);
  }

  function drawSummary() {
    if (!summary) return;
    const s = summary;
    drawMembers(s);
    $('n-total').textContent = s.total;
    $('n-running').textContent = s.running;
    $('n-ready').textContent = s.ready;
    $('n-fatal').textContent = s.failedFatal;
    $('n-retry').textContent = s.failedRetry;
    const b = s.boot;
    $('boot-stats').textContent = b.count ? 'median ' + ms(b.p50Ms) + ', 90% under ' + ms(b.p90Ms) + ', slowest ' + ms(b.maxMs) + ' (' + b.count + ' VMs)' : 'none ready yet';
    const hist = $('histogram');
    const peak = Math.max(1, ...b.buckets.map((x) => x.count));
    while (hist.children.length > b.buckets.length) hist.lastChild.remove();
    while (hist.children.length < b.buckets.length) hist.appendChild(el('div', 'bar'));
    b.buckets.forEach((x, i) => {
      const bar = hist.children[i];
      bar.style.height = (100 * x.count / peak) + '%';
      bar.title = ms(x.fromMs) + ' to ' + ms(x.toMs) + ': ' + x.count + ' VMs';
    });
    const axis = $('histogram-axis');
    axis.replaceChildren();
    if (b.buckets.length) {
      axis.appendChild(el('span', '', ms(b.buckets[0].fromMs)));
      axis.appendChild(el('span', '', ms(b.buckets[b.buckets.length - 1].toMs)));
    }
    const body = $('blame').tBodies[0];
    const rows = [];
    for (const st of s.steps) {
      const tr = el('tr');
      tr.appendChild(el('td', '', st.name));
      tr.appendChild(el('td', 'num', String(st.count)));
      tr.appendChild(el('td', 'num', ms(st.medianMs)));
      tr.appendChild(el('td', 'num', ms(st.maxMs)));
      const td = el('td', 'vm');
      const a = el('button', 'link', st.slowest);
      a.type = 'button';
      a.addEventListener('click', () => select(st.slowest, true));
      td.appendChild(a);
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  const pool = []; // row elements, reused
  function rowEl() {
    const r = el('div', 'row vmrow');
    const inst = el('div');
    inst.append(el('span', 'inst'), el('span', 'sub'));
    const state = el('div');
    state.append(el('span', 'badge'), el('span', 'sub'));
    const tl = el('div');
    tl.append(el('div', 'timeline'), el('span', 'sub'));
    const host = el('div');
    host.append(el('span', 'hn'), el('span', 'sub'));
    const act = el('div', 'act');
    r.append(inst, state, tl, host, act);
    r.addEventListener('click', (e) => {
      if (e.target.closest('button')) return;
      select(r.dataset.instance, false);
    });
    return r;
  }

  function drawRows() {
    spacer.style.height = (shown.length * ROW) + 'px';
    const top = viewport.scrollTop, h = viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(shown.length, Math.ceil((top + h) / ROW) + OVERSCAN);
    const need = last - first;
    while (pool.length < need) pool.push(rowEl());
    const now = performance.now();
    for (let i = 0; i < need; i++) {
      const r = pool[i];
      fillRow(r, shown[first + i], first + i, now);
      if (r.parentNode !== spacer) spacer.appendChild(r);
    }
    for (let i = need; i < pool.length; i++) if (pool[i].parentNode) pool[i].remove();
  }

  function fillRow(r, vm, i, now) {
    r.style.top = (i * ROW) + 'px';
    r.dataset.instance = vm.instance;
    r.dataset.state = vm.state;
    r.classList.toggle('sel', vm.instance === selected);
    const [inst, state, tl, host, act] = r.children;
    inst.children[0].textContent = vm.instance;
    inst.children[0].title = vm.instance;
    inst.children[1].textContent = (vm.member ? 'member ' + vm.member + ' \u00b7 ' : '') + 'attempt ' + (vm.attempt || 1) + ' \u00b7 ' + vm.events + ' events';
    const badge = state.children[0];
    badge.className = 'badge ' + vm.state;
    badge.textContent = stateText(vm);
    const waiting = waitingOf(vm);
    r.dataset.waiting = waiting.join(' ');
    state.children[1].textContent = waiting.length ? 'waiting for ' + waiting.join(', ') :
      vm.state === 'running' ? (vm.step || '') : (vm.bootMs ? ms(vm.bootMs) : '');
    drawTimeline(tl.children[0], vm, now);
    const end = span(vm, now);
    tl.children[1].textContent = vm.steps.length ? vm.steps.length + ' steps, ' + ms(end) : 'no steps yet';
    host.children[0].textContent = vm.hostname || '';
    host.children[0].title = vm.hostname || '';
    host.children[1].textContent = (vm.addresses || []).join(' ');
    act.replaceChildren();
    if (vm.failure) {
      const f = el('span', 'fail' + (vm.failure.retry ? ' retry' : ''),
        (vm.failure.step ? vm.failure.step + ': ' : '') + vm.failure.reason);
      f.title = f.textContent;
      act.appendChild(f);
      act.appendChild(el('span', 'sub', vm.failure.retry ? 'redeploying may help' : 'will fail the same way again'));
    } else if (vm.ssh) {
      const line = el('span');
      const c = el('code', '', vm.ssh);
      line.append(c, copyButton('copy', vm.ssh));
      const keys = (vm.hostKeys || []).filter((k) => k.knownHosts).map((k) => k.knownHosts);
      if (keys.length) line.append(copyButton('known_hosts', keys.join('\n') + '\n'));
      act.appendChild(line);
      const fp = (vm.hostKeys || []).map((k) => k.fingerprint).join(' ');
      act.appendChild(el('span', 'sub', fp));
    } else if (vm.message) {
      const m = el('span', 'sub', vm.message);
      m.title = vm.message;
      act.appendChild(m);
    }
  }

  function drawTimeline(box, vm, now) {
    const segs = vm.steps;
    while (box.children.length > segs.length) box.lastChild.remove();
    while (box.children.length < segs.length) box.appendChild(el('span', 'seg'));
    segs.forEach((st, i) => {
      const s = box.children[i];
      const d = stepDur(vm, st, now);
      s.className = 'seg ' + (['ok', 'started', 'skipped', 'failed'].includes(st.status) ? st.status : 'ok') + (i % 2 ? ' alt' : '');
      s.style.left = (100 * st.startMs / scaleMs) + '%';
      s.style.width = (100 * d / scaleMs) + '%';
      s.title = st.name + ' ' + st.status + ' ' + ms(d);
    });
  }

  function copyButton(label, text) {
    const b = el('button', 'copy', label);
    b.type = 'button';
    b.title = text;
    b.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
        b.textContent = 'copied';
      } catch {
        b.textContent = 'select it in the details';
      }
      setTimeout(() => { b.textContent = label; }, 1500);
    });
    return b;
  }

  // ---- details ----------------------------------------------------------

  function select(inst, scroll) {
    selected = inst;
    $('detail').hidden = false;
    if (scroll) {
      const i = shown.findIndex((v) => v.instance === inst);
      if (i >= 0) viewport.scrollTop = Math.max(0, i * ROW - viewport.clientHeight / 2);
    }
    schedule();
  }

  function drawDetail() {
    const vm = byName.get(selected);
    if (!vm) return;
    $('d-inst').textContent = vm.instance;
    const dl = $('d-fields');
    const fields = [
      ['state', stateText(vm)], ['member', vm.member || ''], ['waiting for', waitingOf(vm).join(', ')],
      ['attempt', String(vm.attempt || 1)], ['boot', vm.boot || ''],
      ['step', (vm.step || '') + ' ' + (vm.status || '')], ['message', vm.message || ''],
      ['boot time', vm.bootMs ? ms(vm.bootMs) : ''], ['host name', vm.hostname || ''],
      ['addresses', (vm.addresses || []).join(' ')], ['ssh', vm.ssh || ''],
      ['host keys', (vm.hostKeys || []).map((k) => k.type + ' ' + k.fingerprint).join('\n')],
    ];
    if (vm.failure) fields.push(['failed step', vm.failure.step], ['reason', vm.failure.reason], ['retry', vm.failure.retry ? 'redeploying may help' : 'will fail the same way again']);
    const kids = [];
    for (const [k, v] of fields) if (v.trim()) kids.push(el('dt', '', k), el('dd', '', v));
    dl.replaceChildren(...kids);
    const now = performance.now();
    const rows = vm.steps.map((st) => {
      const tr = el('tr');
      tr.append(el('td', '', st.name), el('td', '', st.status), el('td', 'num', ms(st.startMs)), el('td', 'num', ms(stepDur(vm, st, now))));
      return tr;
    });
    $('d-steps').tBodies[0].replaceChildren(...rows);
    const known = (vm.hostKeys || []).filter((k) => k.knownHosts).map((k) => k.knownHosts).join('\n');
    $('d-known').textContent = known || 'no host key with its public key yet';
  }

  // ---- wiring -----------------------------------------------------------

  function setConn(cls, text) {
    const c = $('conn');
    c.className = 'conn ' + cls;
    c.textContent = text;
  }

  $('filter').addEventListener('change', (e) => { filter = e.target.value; rebuild(); });
  $('sort').addEventListener('change', (e) => { sort = e.target.value; rebuild(); });
  $('query').addEventListener('input', (e) => { query = e.target.value.trim().toLowerCase(); rebuild(); });
  $('detail-close').addEventListener('click', () => { selected = null; $('detail').hidden = true; schedule(); });
  viewport.addEventListener('scroll', schedule, { passive: true });
  window.addEventListener('resize', schedule);
  // Running steps grow between events.
  setInterval(() => { if (summary && summary.running > 0) rebuild(); }, 1000);

  const es = new EventSource('api/events');
  es.addEventListener('open', () => setConn('live', 'live'));
  es.addEventListener('error', () => setConn('down', 'reconnecting'));
  es.addEventListener('refresh', () => { stats.refreshes++; load(); });
  es.addEventListener('update', (e) => applyUpdate(JSON.parse(e.data)));
})();
