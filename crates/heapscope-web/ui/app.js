// Hash routing, so every view has a shareable URL:
//   #/                                  snapshots
//   #/snapshot/SID[/TAB]                suspects | summary | dominators | search | statistics
//   #/snapshot/SID/object/ID            the Search tab on one object
//   #/snapshot/SID/path/ID              its path from the GC roots
//   #/snapshot/SID/comparison/BASE[/TARGET]  against BASE; with TARGET, the three-snapshot technique
import { renderSnapshots } from './snapshots.js';
import { renderSnapshot } from './snapshot.js';

const app = document.getElementById('app');
let cleanup = null;

function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'snapshot' && parts[1]) {
    cleanup = renderSnapshot(app, parts[1], parts[2] || 'suspects', parts[3], parts[4]);
  } else {
    cleanup = renderSnapshots(app);
  }
}

window.addEventListener('hashchange', route);
route();
