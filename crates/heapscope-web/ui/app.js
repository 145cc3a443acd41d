// Hash routing, so every view has a shareable URL:
//   #/                                  snapshots
//   #/snapshot/SID[/TAB]                suspects | summary | dominators | search | statistics
//   #/snapshot/SID/object/ID            the Search tab on one object
//   #/snapshot/SID/path/ID              its path from the GC roots
//   #/snapshot/SID/comparison/BASE[/TARGET]  against BASE; with TARGET, the three-snapshot technique
//   #/processes[/SORT[/OFFSET]]         watched processes
//   #/process/ID[/RANGE]                one process's charts, alerts and captures (RANGE 5m … 24h, all)
//   #/profile/ID[/SORT]                 a CPU or heap profile: top functions, flame graph
import { renderSnapshots } from './snapshots.js';
import { renderSnapshot } from './snapshot.js';
import { renderProcesses } from './processes.js';
import { renderProcess } from './process.js';
import { renderProfile } from './profiles.js';

const app = document.getElementById('app');
let cleanup = null;

function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const nav = parts[0] === 'processes' || parts[0] === 'process' ? 'processes' : 'snapshots';
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', a.dataset.testid === `nav-${nav}`));
  if (parts[0] === 'snapshot' && parts[1]) {
    cleanup = renderSnapshot(app, parts[1], parts[2] || 'suspects', parts[3], parts[4]);
  } else if (parts[0] === 'processes') {
    cleanup = renderProcesses(app, parts[1], parts[2]);
  } else if (parts[0] === 'process' && parts[1]) {
    cleanup = renderProcess(app, parts[1], parts[2]);
  } else if (parts[0] === 'profile' && parts[1]) {
    cleanup = renderProfile(app, parts[1], parts[2]);
  } else {
    cleanup = renderSnapshots(app);
  }
}

window.addEventListener('hashchange', route);
route();
