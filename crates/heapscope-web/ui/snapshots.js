// The Snapshots page: drag-and-drop upload with progress, the list with status polling.
import { api } from './api.js';
import { size, count, esc, when, errorBox } from './format.js';
import { profilesTable } from './profiles.js';

export function renderSnapshots(root) {
  root.innerHTML = `
    <h1>Snapshots</h1>
    <div class="drop" data-testid="drop">
      Drop <code>.heapsnapshot</code> files here (plain or gzip), or
      <label class="button">choose files<input type="file" data-testid="file-input" multiple hidden></label>
      <div data-testid="uploads"></div>
    </div>
    <div data-testid="list"></div>
    <h2>Profiles</h2>
    <div data-testid="profile-list"></div>`;
  const drop = root.querySelector('.drop');
  const input = root.querySelector('input[type=file]');
  const uploads = root.querySelector('[data-testid=uploads]');
  const list = root.querySelector('[data-testid=list]');
  const profileList = root.querySelector('[data-testid=profile-list]');
  let timer = null;
  let alive = true;

  async function refresh() {
    try {
      const [rows, profiles] = await Promise.all([api('/snapshots'), api('/profiles')]);
      if (!alive) return;
      list.innerHTML = table(rows);
      profileList.innerHTML = profilesTable(profiles);
      const busy = rows.some((r) => ['uploading', 'queued', 'analyzing'].includes(r.status)) ||
        profiles.some((p) => p.status === 'recording');
      clearTimeout(timer);
      timer = setTimeout(refresh, busy ? 700 : 5000);
    } catch (e) {
      list.innerHTML = errorBox(e);
    }
  }

  function upload(file) {
    const line = document.createElement('div');
    line.className = 'toolbar';
    line.innerHTML = `<span>${esc(file.name)}</span><div class="progress"><div style="width:0%"></div></div><span class="muted">0 %</span>`;
    uploads.appendChild(line);
    const bar = line.querySelector('.progress > div');
    const label = line.querySelector('span.muted');
    // XHR, not fetch: it reports upload progress; the body is the File, streamed by the browser.
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/api/snapshots?name=${encodeURIComponent(file.name)}`);
    xhr.upload.onprogress = (ev) => {
      if (!ev.lengthComputable) return;
      const p = Math.round((ev.loaded / ev.total) * 100);
      bar.style.width = `${p}%`;
      label.textContent = `${p} %`;
    };
    xhr.onload = () => {
      if (xhr.status === 201) {
        line.remove();
      } else {
        let msg = `HTTP ${xhr.status}`;
        try { msg = JSON.parse(xhr.responseText).error; } catch { /* not JSON */ }
        label.innerHTML = `<span class="error">${esc(msg)}</span>`;
      }
      refresh();
    };
    xhr.onerror = () => { label.innerHTML = '<span class="error">upload failed (connection)</span>'; };
    xhr.send(file);
  }

  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    for (const f of e.dataTransfer.files) upload(f);
  });
  input.addEventListener('change', () => { for (const f of input.files) upload(f); input.value = ''; });
  profileList.addEventListener('click', async (e) => {
    const del = e.target.closest('[data-delete-profile]');
    if (!del || !confirm(`Delete profile ${del.dataset.deleteProfile}?`)) return;
    try { await api(`/profiles/${del.dataset.deleteProfile}`, { method: 'DELETE' }); } catch (err) { alert(err.message); }
    refresh();
  });
  list.addEventListener('click', async (e) => {
    const del = e.target.closest('[data-delete]');
    if (!del) return;
    if (!confirm(`Delete snapshot ${del.dataset.delete}?`)) return;
    try { await api(`/snapshots/${del.dataset.delete}`, { method: 'DELETE' }); } catch (err) { alert(err.message); }
    refresh();
  });
  refresh();
  return () => { alive = false; clearTimeout(timer); };
}

function status(r) {
  // A live capture is `uploading` with a phase (building, writing N MB) while it streams in.
  if (r.status === 'analyzing' || (r.status === 'uploading' && r.phase)) {
    const p = Math.round(r.progress * 100);
    return `<span class="status analyzing">${p} % · ${esc(r.phase || '')}</span>`;
  }
  if (r.status === 'failed') return `<span class="status failed" title="${esc(r.error)}">failed</span> <span class="muted">${esc(r.error)}</span>`;
  return `<span class="status ${r.status}">${r.status}</span>`;
}

/// Captures name their process (`process #3: pid 4121 (billing)`): link to it.
function sourceLink(source) {
  const m = /^process #(\d+):/.exec(source);
  return m ? `<a href="#/process/${m[1]}">${esc(source)}</a>` : esc(source);
}

function table(rows) {
  if (!rows.length) return '<p class="muted">No snapshots yet: drop one above.</p>';
  return `<table data-testid="snapshots"><thead><tr>
    <th>#</th><th>Name</th><th class="num">Size</th><th class="num">Nodes</th><th>Date</th><th>Source</th><th>Status</th><th></th>
  </tr></thead><tbody>${rows.map((r) => `<tr data-snapshot="${r.id}" data-status="${r.status}">
    <td>${r.id}</td>
    <td>${r.status === 'ready' ? `<a href="#/snapshot/${r.id}">${esc(r.name)}</a>` : esc(r.name)}</td>
    <td class="num">${size(r.size)}</td>
    <td class="num">${r.node_count == null ? '' : count(r.node_count)}</td>
    <td>${when(r.created)}</td>
    <td>${sourceLink(r.source)}</td>
    <td>${status(r)}</td>
    <td><a href="/api/snapshots/${r.id}/file">download</a> · <a href="javascript:void 0" data-delete="${r.id}">delete</a></td>
  </tr>`).join('')}</tbody></table>`;
}
