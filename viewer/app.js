// SPDX-License-Identifier: MIT
// The review viewer's front end (docs/viewer.md): groups, a group's takes side by side with
// synchronised zoom, faces, the report, people. Everything shown comes from /api/report and
// is put in the page as text (textContent, attributes), never as HTML: names are data.
'use strict';

const S = {
  report: null,
  groups: [],          // report.groups
  photos: new Map(),   // path below the source -> report photo
  people: new Map(),   // id -> person
  filtered: [],        // indices into groups
  shown: 0,
  focus: 0,            // grid focus, index into filtered
  group: -1,           // open group, index into groups
  sel: [],             // compared takes (indices into the group's photos)
  take: 0,             // focused take
  view: { z: 1, u: 0.5, v: 0.5 },
  faces: true,
  lightbox: false,
  undo: [],            // this page's changes, newest last: {kind: 'decision'} or {kind: 'people', body}
};
const PAGE = 60;
const $ = (id) => document.getElementById(id);

// el('div', {class: 'x', text: 'y', onclick: f}, child...): strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const picture = (rel, size) => '/img?p=' + encodeURIComponent(rel) + '&s=' + size;
const fileOf = (g, p) => g.dir + '/originals/' + p.filename;
const photoOf = (p) => S.photos.get(p.id) || {};

function when(ph) {
  if (!ph.captured) return '';
  return ph.captured.slice(0, 16).replace('T', ' ');
}
function camera(ph) {
  return [ph.make, ph.model].filter(Boolean).join(' ');
}
function faceCounts(ph) {
  const f = ph.faces || [];
  const c = { open: 0, closed: 0, wink: 0, unknown: 0 };
  for (const x of f) c[x.eyes in c ? x.eyes : 'unknown']++;
  return c;
}
function personName(id) {
  if (id === null || id === undefined) return null;
  const p = S.people.get(id);
  return p && !p.hidden ? (p.name || 'person ' + id) : null;
}
function namesIn(ph) {
  const out = [];
  for (const f of ph.faces || []) {
    const n = personName(f.person);
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

// ---- data ---------------------------------------------------------------------------

async function load() {
  const r = await fetch('/api/report', { credentials: 'same-origin', cache: 'no-cache' });
  if (!r.ok) throw new Error((await r.text()) || r.statusText);
  const rep = await r.json();
  S.report = rep;
  S.groups = rep.groups || [];
  S.photos = new Map((rep.photos || []).map((p) => [p.path, p]));
  S.people = new Map((rep.people || []).map((p) => [p.id, p]));
  const c = rep.counts || {};
  $('summary').textContent = `${S.groups.length} groups · ${c.grouped_photos ?? 0} of ${c.photos ?? 0} photos` +
    (rep.settings && rep.settings.output ? ' · ' + rep.settings.output : '');
  applyFilter();
}

function applyFilter() {
  const q = $('filter').value.trim().toLowerCase();
  S.filtered = [];
  S.groups.forEach((g, i) => {
    if (!q) return S.filtered.push(i);
    const hay = [g.dir, g.why];
    for (const p of g.photos || []) {
      const ph = photoOf(p);
      hay.push(p.filename, p.id, when(ph), camera(ph), ...namesIn(ph));
    }
    if (hay.some((h) => h && String(h).toLowerCase().includes(q))) S.filtered.push(i);
  });
  S.focus = Math.min(S.focus, Math.max(0, S.filtered.length - 1));
  if (location.hash.startsWith('#/groups') || !location.hash) renderGrid();
}

// ---- grid ---------------------------------------------------------------------------

function card(gi) {
  const g = S.groups[gi];
  const best = (g.photos || []).find((p) => p.is_best) || (g.photos || [])[0];
  if (!best) return el('div');
  const ph = photoOf(best);
  const fc = faceCounts(ph);
  const thumb = el('div', { class: 'thumb' },
    el('img', { src: picture(fileOf(g, best), 512), alt: best.filename, loading: 'lazy', decoding: 'async' }),
    el('span', { class: 'badge count', text: `${g.photo_count} photos` }),
    el('span', { class: 'badge best', text: '★ best' }),
    g.face_swap && g.face_swap.file ? el('span', { class: 'badge fixed', text: 'eyes fixed' }) : null,
    fc.closed + fc.wink ? el('span', { class: 'badge closed', text: `${fc.closed + fc.wink} closed` }) : null,
    flagBadge(g));
  const who = namesIn(ph);
  return el('div', { class: 'card', 'data-g': gi, onclick: () => openGroup(gi) }, thumb,
    el('div', { class: 'meta' },
      el('div', { class: 'name', text: best.filename, title: best.filename }),
      el('div', { class: 'sub', text: [g.dir, when(ph), camera(ph), who.join(', ')].filter(Boolean).join(' · ') })));
}

// Picks and rejects of a group's takes, as one badge.
function flagBadge(g) {
  const picks = (g.photos || []).filter((p) => p.flag === 'pick').length;
  const rejects = (g.photos || []).filter((p) => p.flag === 'reject').length;
  if (!picks && !rejects) return null;
  return el('span', { class: 'badge flags', text: [picks ? `✓ ${picks}` : null, rejects ? `✗ ${rejects}` : null].filter(Boolean).join(' ') });
}

let moreObserver = null;
function renderGrid() {
  setTab('groups');
  const main = $('main');
  if (!S.filtered.length) {
    main.replaceChildren(el('div', { class: 'empty', text: S.groups.length ? 'No group matches the filter.' : 'This library has no groups yet.' }));
    return;
  }
  const grid = el('div', { class: 'grid', id: 'grid' });
  const more = el('div', { class: 'more' });
  main.replaceChildren(grid, more);
  S.shown = 0;
  showMore(Math.max(PAGE, S.focus + 1));
  if (moreObserver) moreObserver.disconnect();
  moreObserver = new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) showMore(PAGE); },
    { rootMargin: '600px' });
  moreObserver.observe(more);
  markFocus();
}

function showMore(n) {
  const grid = $('grid');
  if (!grid) return;
  const end = Math.min(S.filtered.length, S.shown + n);
  const frag = document.createDocumentFragment();
  for (let k = S.shown; k < end; k++) frag.append(card(S.filtered[k]));
  grid.append(frag);
  S.shown = end;
}

function markFocus() {
  const grid = $('grid');
  if (!grid) return;
  for (const c of grid.querySelectorAll('.card.focus')) c.classList.remove('focus');
  if (S.focus >= S.shown) showMore(S.focus - S.shown + PAGE);
  const c = grid.children[S.focus];
  if (c) { c.classList.add('focus'); c.scrollIntoView({ block: 'nearest' }); }
}

function gridColumns() {
  const grid = $('grid');
  if (!grid || !grid.children.length) return 1;
  const top = grid.children[0].offsetTop;
  let n = 0;
  for (const c of grid.children) { if (c.offsetTop !== top) break; n++; }
  return Math.max(1, n);
}

// ---- a group ------------------------------------------------------------------------

function openGroup(gi) {
  location.hash = '#/group/' + (gi + 1);
}

// Opens group @gi; a group opened anew focuses take @take (default: the best shot).
function renderGroup(gi, take) {
  setTab('groups');
  const g = S.groups[gi];
  if (!g) { location.hash = '#/groups'; return; }
  if (S.group !== gi) {
    S.group = gi;
    const photos = g.photos || [];
    const bi = Math.max(0, photos.findIndex((p) => p.is_best));
    const t = take >= 0 && take < photos.length ? take : bi;
    // The focused take, the best and the next takes, up to four side by side.
    S.sel = [...new Set([t, bi, ...photos.map((_, i) => i)])].slice(0, Math.min(4, photos.length));
    S.take = t;
    S.view = { z: 1, u: 0.5, v: 0.5 };
    const k = S.filtered.indexOf(gi);
    if (k >= 0) S.focus = k;
  }
  const photos = g.photos || [];
  const nav = el('div', { class: 'ghead' },
    el('h1', { text: `${g.dir} · ${g.photo_count} photos` }),
    el('button', { text: '← previous', onclick: () => step(-1), title: 'Previous group (←)' }),
    el('button', { text: 'next →', onclick: () => step(1), title: 'Next group (→)' }),
    el('button', { text: 'all groups', onclick: () => { location.hash = '#/groups'; }, title: 'Back (Esc)' }),
    el('span', { class: 'spacer' }),
    el('button', { id: 'merge-next', text: 'Merge with next (M)', title: 'This group and the next one become one group', onclick: () => mergeNext(gi) }),
    el('button', { id: 'split-here', text: 'Split here (S)', title: 'The focused take and the ones after it become a group of their own', onclick: () => splitAt(S.take), disabled: S.take === 0 }),
    el('button', { id: 'ungroup', text: 'Ungroup (D)', title: 'Dissolve this group: its photos stand alone', onclick: () => ungroup(gi) }),
    el('button', { id: 'undo', text: 'Undo (U)', title: 'Take back your last change', onclick: () => undo() }),
    g.face_swap && g.face_swap.file
      ? el('a', { href: '/file?p=' + encodeURIComponent(g.dir + '/' + g.face_swap.file), target: '_blank', rel: 'noopener', text: 'repaired best shot: ' + g.face_swap.file })
      : null);
  const why = el('div', { class: 'why' }, el('strong', { text: 'Why this best shot: ' }), g.why || '');
  const strip = el('div', { class: 'strip' });
  photos.forEach((p, i) => {
    strip.append(el('div', {
      class: 'take' + (S.sel.includes(i) ? ' sel' : '') + (i === S.take ? ' focus' : ''),
      title: p.filename + (p.is_best ? ' (best)' : '') + ' — click to compare',
      onclick: () => { S.take = i; toggleCompare(i); },
    }, el('img', { src: picture(fileOf(g, p), 256), alt: p.filename, loading: 'lazy' }),
    el('span', { class: 'n', text: (i + 1) + (p.is_best ? ' ★' : '') + (p.flag === 'pick' ? ' ✓' : p.flag === 'reject' ? ' ✗' : '') })));
  });
  const compare = el('div', { class: 'compare' + (S.faces ? '' : ' hide-faces'), id: 'compare' });
  compare.style.gridTemplateColumns = `repeat(${Math.max(1, S.sel.length)}, 1fr)`;
  for (const i of S.sel) compare.append(pane(g, photos[i], i));
  $('main').replaceChildren(nav, why, strip, compare, metaTable(g, S.sel.map((i) => photos[i])));
  requestAnimationFrame(layoutPanes);
}

function step(d) {
  if (!S.filtered.length) return;
  let k = S.filtered.indexOf(S.group);
  k = Math.max(0, Math.min(S.filtered.length - 1, (k < 0 ? 0 : k) + d));
  openGroup(S.filtered[k]);
}

function toggleCompare(i) {
  const at = S.sel.indexOf(i);
  if (at >= 0 && S.sel.length > 1) S.sel.splice(at, 1);
  else if (at < 0) { S.sel.push(i); if (S.sel.length > 4) S.sel.shift(); }
  renderGroup(S.group);
}

function eyesText(f) {
  const bits = [f.eyes];
  if (typeof f.smile === 'number' && f.smile >= 0.5) bits.push('smiling');
  const n = personName(f.person);
  if (n) bits.unshift(n);
  return bits.join(' · ');
}

function pane(g, p, i) {
  const ph = photoOf(p);
  const stage = el('div', { class: 'stage' },
    el('img', { src: picture(fileOf(g, p), 2048), alt: p.filename, draggable: 'false', onload: layoutPanes }));
  for (const f of ph.faces || []) {
    if (!f.box) continue;
    const b = el('div', { class: 'box ' + (['open', 'closed', 'wink'].includes(f.eyes) ? f.eyes : 'unknown') },
      el('span', { text: eyesText(f) }));
    b.style.left = (f.box[0] * 100) + '%';
    b.style.top = (f.box[1] * 100) + '%';
    b.style.width = ((f.box[2] - f.box[0]) * 100) + '%';
    b.style.height = ((f.box[3] - f.box[1]) * 100) + '%';
    stage.append(b);
  }
  const fc = faceCounts(ph);
  const flagText = p.flag === 'pick' ? ' · ✓ picked' : p.flag === 'reject' ? ' · ✗ rejected' : '';
  const label = el('div', { class: 'label' + (p.is_best ? ' best' : '') + (p.flag ? ' ' + p.flag : ''),
    text: `${i + 1}. ${p.filename}${p.is_best ? ' ★ best' : ''}${flagText}` + ((ph.faces || []).length ? ` · ${fc.open} open, ${fc.closed + fc.wink} closed` : '') });
  const act = (cls, text, title, f) => el('button', {
    class: 'mini ' + cls, text, title,
    onpointerdown: (e) => e.stopPropagation(),
    onclick: (e) => { e.stopPropagation(); S.take = i; f(i); },
  });
  const actions = el('div', { class: 'actions' },
    p.is_best ? null : act('set-best', 'Set as best (B)', 'Make this take the best shot: kept by every later run', setBest),
    act('pick', p.flag === 'pick' ? 'Unpick (P)' : 'Pick (P)', 'Mark this take a keeper', (k) => flag(k, 'pick')),
    act('reject', p.flag === 'reject' ? 'Unreject (X)' : 'Reject (X)', 'Mark this take rejected: never the best unless you say so', (k) => flag(k, 'reject')),
    act('move', 'Move to… (G)', 'Move this take to another group', openMove),
    act('detach', 'Take out (T)', 'This take leaves the group', detach));
  const d = el('div', { class: 'pane' + (i === S.take ? ' focus' : ''), 'data-i': i }, label, actions, stage);
  attachZoom(d);
  d.addEventListener('dblclick', () => { S.take = i; openLightbox(); });
  return d;
}

// Synchronised zoom: every pane shows the same point (u, v: fractions of the picture) at
// the same magnification relative to its own fit, up to the picture's pixels.
function layoutPanes() {
  // The comparison is as tall as its tallest picture needs at its column's width, within
  // the window.
  const cmp = $('compare');
  if (cmp) {
    let aspect = 0;
    for (const img of cmp.querySelectorAll('.stage img'))
      if (img.naturalWidth) aspect = Math.max(aspect, img.naturalHeight / img.naturalWidth);
    if (aspect) {
      const colW = cmp.clientWidth / Math.max(1, S.sel.length);
      const room = Math.max(240, window.innerHeight - cmp.getBoundingClientRect().top - 16);
      cmp.style.height = Math.round(Math.min(room, Math.max(240, colW * aspect))) + 'px';
    }
  }
  for (const d of document.querySelectorAll('.pane')) {
    const img = d.querySelector('img');
    const stage = d.querySelector('.stage');
    if (!img || !img.naturalWidth) continue;
    const W = d.clientWidth, H = d.clientHeight;
    const iw = img.naturalWidth, ih = img.naturalHeight;
    const fit = Math.min(W / iw, H / ih);
    const maxZ = Math.max(1, 1 / fit);
    const z = Math.min(S.view.z, maxZ);
    const s = fit * z;
    const w = iw * s, h = ih * s;
    let x = W / 2 - S.view.u * w, y = H / 2 - S.view.v * h;
    if (w <= W) x = (W - w) / 2; else x = Math.min(0, Math.max(W - w, x));
    if (h <= H) y = (H - h) / 2; else y = Math.min(0, Math.max(H - h, y));
    stage.style.width = w + 'px';
    stage.style.height = h + 'px';
    stage.style.transform = `translate(${x}px, ${y}px)`;
  }
}

function zoomBy(f, u, v) {
  const z = Math.max(1, Math.min(32, S.view.z * f));
  if (u !== undefined && z > 1) { S.view.u = u; S.view.v = v; }
  if (z === 1) { S.view.u = 0.5; S.view.v = 0.5; }
  S.view.z = z;
  layoutPanes();
}

function attachZoom(d) {
  d.addEventListener('wheel', (e) => {
    e.preventDefault();
    const stage = d.querySelector('.stage');
    const r = stage.getBoundingClientRect();
    const u = (e.clientX - r.left) / r.width, v = (e.clientY - r.top) / r.height;
    zoomBy(e.deltaY < 0 ? 1.25 : 0.8, Math.min(1, Math.max(0, u)), Math.min(1, Math.max(0, v)));
  }, { passive: false });
  d.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    const stage = d.querySelector('.stage');
    const r = stage.getBoundingClientRect();
    const start = { x: e.clientX, y: e.clientY, u: S.view.u, v: S.view.v };
    d.setPointerCapture(e.pointerId);
    d.classList.add('dragging');
    const move = (m) => {
      S.view.u = Math.min(1, Math.max(0, start.u - (m.clientX - start.x) / r.width));
      S.view.v = Math.min(1, Math.max(0, start.v - (m.clientY - start.y) / r.height));
      layoutPanes();
    };
    const up = () => {
      d.classList.remove('dragging');
      d.removeEventListener('pointermove', move);
      d.removeEventListener('pointerup', up);
    };
    d.addEventListener('pointermove', move);
    d.addEventListener('pointerup', up);
  });
}

function metaTable(g, ps) {
  const rows = [
    ['File', (p) => p.filename],
    ['Source', (p) => p.id],
    ['Captured', (p, ph) => when(ph) + (ph.time_source ? ` (${ph.time_source})` : '')],
    ['Camera', (p, ph) => camera(ph)],
    ['Lens', (p, ph) => ph.lens],
    ['Exposure', (p, ph) => [ph.exposure_time ? (ph.exposure_time < 1 ? '1/' + Math.round(1 / ph.exposure_time) : ph.exposure_time) + ' s' : null,
      ph.fnumber ? 'f/' + ph.fnumber : null, ph.iso ? 'ISO ' + ph.iso : null, ph.focal_length ? ph.focal_length + ' mm' : null].filter(Boolean).join(', ')],
    ['Size', (p, ph) => ph.width ? `${ph.width} × ${ph.height} · ${ph.format} · ${((ph.filesize || 0) / 1e6).toFixed(1)} MB` : ''],
    ['Faces', (p, ph) => { const c = faceCounts(ph); return (ph.faces || []).length ? `${(ph.faces || []).length}: ${c.open} open, ${c.closed} closed, ${c.wink} wink${c.wink === 1 ? "" : "s"}, ${c.unknown} unknown` : "none found"; }],
    ['People', (p, ph) => namesIn(ph).join(', ')],
    ['Quality', (p, ph) => ph.quality && typeof ph.quality.score === 'number' ? ph.quality.score.toFixed(3) : ''],
    ['Sharpness', (p, ph) => ph.quality && typeof ph.quality.sharpness === 'number' ? ph.quality.sharpness.toFixed(0) : ''],
    ['BRISQUE', (p, ph) => ph.quality && typeof ph.quality.brisque === 'number' ? ph.quality.brisque.toFixed(1) : ''],
  ];
  const t = el('table', { class: 'meta' });
  for (const [name, f] of rows) {
    const tr = el('tr', {}, el('th', { text: name }));
    for (const p of ps) tr.append(el('td', { class: p.is_best ? 'best' : null, text: String(f(p, photoOf(p)) ?? '') }));
    t.append(tr);
  }
  return t;
}

// The lightbox: PhotoSwipe (installed by the bootstrap in viewer/vendor, served from here)
// for zoom, pan and swiping through the group; without it, the comparison's own pane.
let photoSwipe;
function loadPhotoSwipe() {
  if (photoSwipe === undefined) {
    photoSwipe = import('/assets/vendor/photoswipe.esm.min.js').then((m) => {
      document.head.append(el('link', { rel: 'stylesheet', href: '/assets/vendor/photoswipe.css' }));
      return m.default;
    }).catch(() => null);
  }
  return photoSwipe;
}

// The size /img serves at 2048: upright, fitted, never enlarged.
function shownSize(ph) {
  let w = ph.width || 1600, h = ph.height || 1200;
  if (ph.orientation >= 5 && ph.orientation <= 8) [w, h] = [h, w];
  const k = Math.min(1, 2048 / Math.max(w, h));
  return { width: Math.round(w * k), height: Math.round(h * k) };
}

async function openLightbox() {
  const g = S.groups[S.group];
  if (!g) return;
  const p = (g.photos || [])[S.take];
  if (!p) return;
  const PhotoSwipe = await loadPhotoSwipe();
  if (PhotoSwipe) {
    const items = (g.photos || []).map((m) => ({ src: picture(fileOf(g, m), 2048), ...shownSize(photoOf(m)), alt: m.filename }));
    const pswp = new PhotoSwipe({ dataSource: items, index: S.take, bgOpacity: 0.95, wheelToZoom: true,
      secondaryZoomLevel: 1, maxZoomLevel: 2, showHideAnimationType: 'fade' });
    pswp.on('change', () => { S.take = pswp.currIndex; });
    pswp.on('destroy', () => { S.lightbox = false; S.pswp = null; if (S.group >= 0) renderGroup(S.group); });
    S.pswp = pswp;
    S.lightbox = true;
    pswp.init();
    return;
  }
  const lb = $('lightbox');
  lb.replaceChildren(pane(g, p, S.take));
  lb.classList.toggle('hide-faces', !S.faces);
  lb.hidden = false;
  S.lightbox = true;
  requestAnimationFrame(layoutPanes);
}
function closeLightbox() {
  if (S.pswp) { S.pswp.close(); return; }
  $('lightbox').hidden = true;
  $('lightbox').replaceChildren();
  S.lightbox = false;
  layoutPanes();
}

// ---- decisions (docs/decisions.md) ----------------------------------------------------

let statusTimer = null;
function status(text, bad) {
  const st = $('status');
  st.textContent = text;
  st.classList.toggle('bad', !!bad);
  st.hidden = false;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { st.hidden = true; }, bad ? 8000 : 4000);
}

async function post(url, body) {
  if (!S.csrf) S.csrf = (await (await fetch('/api/session', { credentials: 'same-origin' })).json()).csrf;
  const r = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': S.csrf },
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(answer.error || r.statusText);
  return answer;
}

// Sends a change, then shows the result made again: the group of @keep (a photo id) when
// it is in one, else the group at the same place.
async function change(url, body, done, keep, undoEntry) {
  if (S.busy) return false;
  S.busy = true;
  status('Saving your decision and making the result again…');
  try {
    await post(url, body);
    if (undoEntry) S.undo.push(undoEntry);
    const at = S.group;
    await load();
    const gi = keep ? S.groups.findIndex((g) => (g.photos || []).some((p) => p.id === keep)) : -1;
    if (gi >= 0) {
      const p = S.groups[gi].photos.findIndex((m) => m.id === keep);
      S.group = -1;
      renderGroup(gi, p);
      if (location.hash !== '#/group/' + (gi + 1)) openGroup(gi);
    } else if (at >= 0 && S.groups.length) {
      S.group = -1;
      const k = Math.min(at, S.groups.length - 1);
      if (location.hash === '#/group/' + (k + 1)) renderGroup(k); else openGroup(k);
    } else {
      S.group = -1;
      route();
    }
    status(done);
    return true;
  } catch (err) {
    status('Not saved: ' + err.message, true);
    return false;
  } finally {
    S.busy = false;
  }
}

function decide(body, done, keep) {
  return change('/api/decide', body, done, keep, body.kind === 'undo' ? null : { kind: 'decision' });
}

function current(i) {
  const g = S.groups[S.group];
  return g ? [g, (g.photos || [])[i === undefined ? S.take : i]] : [null, null];
}

function setBest(i) {
  const [g, p] = current(i);
  if (!p || p.is_best) return;
  decide({ kind: 'best', photo: p.id }, `${p.filename} is the best shot of ${g.dir} now (U takes it back).`, p.id);
}

function flag(i, kind) {
  const [, p] = current(i);
  if (!p) return;
  const off = p.flag === kind;
  decide({ kind: off ? 'unflag' : kind, photo: p.id },
    `${p.filename}: ${off ? 'no flag' : kind === 'pick' ? 'picked' : 'rejected'} (U takes it back).`, p.id);
}

function detach(i) {
  const [g, p] = current(i);
  if (!p) return;
  const stay = (g.photos || []).find((m) => m.id !== p.id);
  decide({ kind: 'detach', photo: p.id }, `${p.filename} left ${g.dir} (U takes it back).`, stay && stay.id);
}

function splitAt(i) {
  const [g, p] = current(i);
  if (!p || i === 0) { status('Focus a take after the first to split there (1–9, then S).', true); return; }
  decide({ kind: 'split', photo: p.id }, `${g.dir} was split at ${p.filename} (U takes it back).`, p.id);
}

function mergeNext(gi) {
  const k = S.filtered.indexOf(gi);
  const next = S.groups[S.filtered[k + 1]];
  const g = S.groups[gi];
  if (!g || !next) { status('There is no next group to merge with.', true); return; }
  decide({ kind: 'merge', photo: next.photos[0].id, other: g.photos[0].id },
    `${g.dir} and ${next.dir} are one group now (U takes it back).`, S.group >= 0 ? g.photos[0].id : null);
}

function ungroup(gi) {
  const g = S.groups[gi];
  if (!g) return;
  decide({ kind: 'ungroup', photo: g.photos[0].id }, `${g.dir} was ungrouped: its photos stand alone (U takes it back).`);
}

// Move a take to another group: by its number.
function openMove(i) {
  const [g, p] = current(i);
  if (!p) return;
  const box = $('move');
  const input = el('input', { id: 'move-to', type: 'number', min: 1, max: S.groups.length, placeholder: 'group number', 'aria-label': 'Group number' });
  const go = () => {
    const n = Number(input.value);
    const target = S.groups[n - 1];
    if (!target || n - 1 === S.group) { status('Give the number of another group (1–' + S.groups.length + ').', true); return; }
    box.hidden = true;
    decide({ kind: 'move', photo: p.id, other: target.photos[0].id }, `${p.filename} moved to ${target.dir} (U takes it back).`, p.id);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); go(); }
    if (e.key === 'Escape') { e.preventDefault(); box.hidden = true; }
    e.stopPropagation();
  });
  box.replaceChildren(el('div', { class: 'panel', role: 'dialog', 'aria-labelledby': 'move-title' },
    el('h2', { id: 'move-title', text: `Move ${p.filename} to group…` }),
    el('p', { class: 'muted', text: `This is ${g.dir}; there are ${S.groups.length} groups.` }),
    input, ' ', el('button', { id: 'move-go', text: 'Move', onclick: go }),
    el('button', { text: 'Cancel', onclick: () => { box.hidden = true; } })));
  box.hidden = false;
  input.focus();
}

async function undo() {
  const last = S.undo.pop();
  if (last && last.kind === 'people') {
    if (!(await change('/api/people', last.body, 'Your last change to people was taken back.'))) S.undo.push(last);
    return;
  }
  const keep = S.group >= 0 ? (current()[1] || {}).id : null;
  if (!(await change('/api/decide', { kind: 'undo' }, 'Your last decision was taken back.', keep)) && last) S.undo.push(last);
}

// ---- people and the report ----------------------------------------------------------

function personTitle(p) { return p.name || 'person ' + p.id; }

function peopleChange(body, done, inverse) {
  return change('/api/people', body, done, null, inverse ? { kind: 'people', body: inverse } : null);
}

function renderPeople() {
  setTab('people');
  const all = S.report.people || [];
  const people = all.filter((p) => !p.hidden);
  const hidden = all.filter((p) => p.hidden);
  if (!all.length) {
    $('main').replaceChildren(el('div', { class: 'empty', text: 'No people yet: organize with --faces all to find the people of the whole library.' }));
    return;
  }
  // The person's face picture (--people-folders); else a face of theirs in a photo of some
  // group (those are in OUT), cropped to a square around it; else a word.
  const faceOf = (p) => {
    let hit = null;
    for (const g of S.groups) {
      for (const m of g.photos || []) {
        const ph = photoOf(m);
        const f = (ph.faces || []).find((x) => x.person === p.id && x.box);
        if (f && (!hit || m.id === p.sample)) hit = { g, m, ph, f };
      }
    }
    const box = el('div', { class: 'face' });
    if (p.picture) { // the face picture of --people-folders
      box.classList.add('whole');
      box.append(el('img', { src: picture(p.picture, 256), alt: personTitle(p), loading: 'lazy' }));
      return box;
    }
    if (!hit) {
      box.append(el('div', { class: 'none', text: 'in no group: see the people folders (--people-folders)' }));
      return box;
    }
    const img = el('img', { src: picture(fileOf(hit.g, hit.m), 512), alt: personTitle(p), loading: 'lazy' });
    const up = hit.ph.orientation >= 5 && hit.ph.orientation <= 8;
    const W = (up ? hit.ph.height : hit.ph.width) || 0, H = (up ? hit.ph.width : hit.ph.height) || 0;
    if (!W || !H) { box.classList.add('whole'); box.append(img); return box; }
    const [x0, y0, x1, y1] = hit.f.box;
    const side = Math.min(Math.max(W, H), 1.8 * Math.max((x1 - x0) * W, (y1 - y0) * H));
    const cx = (x0 + x1) / 2 * W, cy = (y0 + y1) / 2 * H;
    img.style.width = (W / side * 100) + '%';
    img.style.left = (-(cx - side / 2) / side * 100) + '%';
    img.style.top = (-(cy - side / 2) / side * 100) + '%';
    box.append(img);
    return box;
  };
  const list = el('div', { class: 'people' });
  for (const p of people) {
    const name = el('input', { class: 'rename', type: 'text', value: p.name || '', placeholder: 'person ' + p.id, 'aria-label': 'Name of ' + personTitle(p), 'data-person': p.id });
    name.addEventListener('keydown', (e) => {
      e.stopPropagation();
      if (e.key === 'Enter') {
        e.preventDefault();
        const v = name.value.trim();
        if (v !== (p.name || '')) peopleChange({ action: 'name', id: p.id, name: v }, `${personTitle(p)} is ${v || 'unnamed'} now.`, { action: 'name', id: p.id, name: p.name || '' });
      } else if (e.key === 'Escape') { name.value = p.name || ''; name.blur(); }
    });
    const others = people.filter((o) => o.id !== p.id);
    const into = el('select', { class: 'merge-into', 'aria-label': 'Merge ' + personTitle(p) + ' into', 'data-person': p.id },
      el('option', { value: '', text: 'Same person as…' }), ...others.map((o) => el('option', { value: o.id, text: personTitle(o) })));
    into.addEventListener('change', () => {
      const o = S.people.get(Number(into.value));
      if (!o) return;
      if (!confirm(`Merge ${personTitle(p)} into ${personTitle(o)}? Their faces become one person's (this cannot be undone here).`)) { into.value = ''; return; }
      peopleChange({ action: 'merge', id: o.id, other: p.id }, `${personTitle(p)} is part of ${personTitle(o)} now.`);
    });
    list.append(el('div', { class: 'person', 'data-person': p.id },
      faceOf(p),
      name,
      el('div', { class: 'muted', text: `${p.faces} faces in ${p.photos} photos` }),
      el('div', { class: 'actions' }, into,
        el('button', { class: 'mini hide', text: 'Hide', title: 'Hide this person from lists and people folders',
          onclick: () => peopleChange({ action: 'hide', id: p.id }, `${personTitle(p)} is hidden (U shows them again).`, { action: 'unhide', id: p.id }) }))));
  }
  const parts = [el('h2', { text: `${people.length} people` }),
    el('p', { class: 'muted', text: 'Type a name and press Enter; “Same person as…” merges two; Hide keeps a person out of lists and folders.' }), list];
  if (hidden.length) {
    parts.push(el('h2', { text: `${hidden.length} hidden` }), el('div', { class: 'people hidden-people' }, ...hidden.map((p) =>
      el('div', { class: 'person' }, el('strong', { text: personTitle(p) }),
        el('button', { class: 'mini unhide', text: 'Show', onclick: () => peopleChange({ action: 'unhide', id: p.id }, `${personTitle(p)} is shown again.`, { action: 'hide', id: p.id }) })))));
  }
  $('main').replaceChildren(...parts);
}

function kvTable(obj) {
  const t = el('table', { class: 'kv' });
  for (const [k, v] of Object.entries(obj || {})) {
    if (v !== null && typeof v === 'object') continue;
    t.append(el('tr', {}, el('th', { text: k }), el('td', { text: String(v) })));
  }
  return t;
}

function renderReport() {
  setTab('report');
  const r = S.report;
  const errs = r.errors || [];
  const list = el('table', { class: 'kv' });
  for (const e of errs) list.append(el('tr', {}, el('th', { text: e.path || '' }), el('td', { text: `${e.code || ''}: ${e.reason || ''}` })));
  $('main').replaceChildren(
    el('h2', { text: 'Counts' }), kvTable(r.counts),
    el('h2', { text: 'This run' }), kvTable(r.run),
    el('h2', { text: `Errors (${errs.length})` }), errs.length ? list : el('p', { class: 'muted', text: 'None: every photo could be read.' }),
    el('h2', { text: 'Settings' }), kvTable(r.settings));
}

// ---- routing and keys ---------------------------------------------------------------

function setTab(name) {
  for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('on', a.dataset.tab === name);
}

function route() {
  if (!S.report) return;
  const h = location.hash || '#/groups';
  const m = /^#\/group\/(\d+)$/.exec(h);
  if (S.lightbox) closeLightbox();
  if (m) return renderGroup(Number(m[1]) - 1);
  S.group = -1;
  if (h === '#/people') return renderPeople();
  if (h === '#/report') return renderReport();
  renderGrid();
}

function onKey(e) {
  if (S.pswp) return; // the lightbox has its own keys (arrows, Esc)
  if (e.target === $('filter')) {
    if (e.key === 'Escape' || e.key === 'Enter') { $('filter').blur(); e.preventDefault(); }
    return;
  }
  if (e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT') return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const help = $('help');
  if (e.key === '?') { help.hidden = !help.hidden; return; }
  if (e.key === 'Escape') {
    if (!help.hidden) help.hidden = true;
    else if (!$('move').hidden) $('move').hidden = true;
    else if (S.lightbox) closeLightbox();
    else if (S.group >= 0) location.hash = '#/groups';
    return;
  }
  if (e.key === '/') { e.preventDefault(); $('filter').focus(); return; }
  if (e.key === 'u' || e.key === 'U') { undo(); return; }
  const inGroup = S.group >= 0 && /^#\/group\//.test(location.hash);
  if (inGroup) {
    const n = (S.groups[S.group].photos || []).length;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') { e.preventDefault(); step(1); }
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') { e.preventDefault(); step(-1); }
    else if (e.key === ' ') { e.preventDefault(); toggleCompare(S.take); }
    else if (e.key === 'Enter') { e.preventDefault(); S.lightbox ? closeLightbox() : openLightbox(); }
    else if (/^[1-9]$/.test(e.key) && Number(e.key) <= n) { S.take = Number(e.key) - 1; renderGroup(S.group); }
    else if (e.key === '+' || e.key === '=') zoomBy(1.5);
    else if (e.key === '-') zoomBy(1 / 1.5);
    else if (e.key === '0') zoomBy(0);
    else if (e.key === 'b' || e.key === 'B') setBest(S.take);
    else if (e.key === 'p' || e.key === 'P') flag(S.take, 'pick');
    else if (e.key === 'x' || e.key === 'X') flag(S.take, 'reject');
    else if (e.key === 'm' || e.key === 'M') mergeNext(S.group);
    else if (e.key === 's' || e.key === 'S') splitAt(S.take);
    else if (e.key === 't' || e.key === 'T') detach(S.take);
    else if (e.key === 'g' || e.key === 'G') { e.preventDefault(); openMove(S.take); }
    else if (e.key === 'd' || e.key === 'D') ungroup(S.group);
    else if (e.key === 'f' || e.key === 'F') {
      S.faces = !S.faces;
      for (const c of document.querySelectorAll('.compare, #lightbox')) c.classList.toggle('hide-faces', !S.faces);
    }
    return;
  }
  if (!$('grid')) return;
  const cols = gridColumns();
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols };
  if (e.key in moves) {
    e.preventDefault();
    S.focus = Math.max(0, Math.min(S.filtered.length - 1, S.focus + moves[e.key]));
    markFocus();
  } else if (e.key === 'Enter' && S.filtered.length) {
    openGroup(S.filtered[S.focus]);
  } else if ((e.key === 'm' || e.key === 'M') && S.filtered.length) {
    mergeNext(S.filtered[S.focus]);
  }
}

// When the first screen's pictures are on it: data-first-page-ms on <html>, for benchmarks
// and tests (bench/serve.c).
function firstPaint() {
  const imgs = [...document.querySelectorAll('#main img')]
    .filter((i) => i.getBoundingClientRect().top < window.innerHeight).slice(0, PAGE);
  const loaded = (i) => (i.complete ? null : new Promise((done) => {
    i.addEventListener('load', done, { once: true });
    i.addEventListener('error', done, { once: true });
  }));
  return Promise.all(imgs.map(loaded)).then(() => {
    document.documentElement.dataset.firstPageMs = String(Math.round(performance.now()));
  });
}

function start() {
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', route);
  window.addEventListener('resize', layoutPanes);
  $('filter').addEventListener('input', applyFilter);
  $('help-button').addEventListener('click', () => { $('help').hidden = !$('help').hidden; });
  $('help').addEventListener('click', (e) => { if (e.target === $('help')) $('help').hidden = true; });
  load().then(route).then(firstPaint).catch((err) => {
    $('main').replaceChildren(el('div', { class: 'empty', text: 'The report could not be loaded: ' + err.message }));
  });
}

start();
