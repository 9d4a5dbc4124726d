// Preloaded (NODE_OPTIONS=--require) by scripts/test-node.sh only, for a run under another Node
// release: every load of better-sqlite3's addon is sent to the copy built for that release.
//
// Why here, at process.dlopen, and not elsewhere: node_modules/better-sqlite3 is shared with the
// engineers running the suite on the host Node at the same moment, so it must keep its host
// build. Its JavaScript is the same for every release; only the binary differs. Every way the
// addon can be reached (knex's dialect, a test's own `new Database()`, `bindings`, an explicit
// `nativeBinding`) ends in process.dlopen, so redirecting that one call covers them all and
// needs nothing from the test helpers. NODE_PATH cannot do it (node_modules wins over it), and a
// resolver hook on 'better-sqlite3' would miss anything that loads the .node file by path.
'use strict';
const path = require('node:path');

const target = process.env.KNEX_SCOPES_SQLITE_BINDING;
if (target) {
  const dlopen = process.dlopen;
  process.dlopen = function dlopenForThisRelease(module, filename, ...rest) {
    const chosen = path.basename(filename) === 'better_sqlite3.node' ? target : filename;
    return dlopen.call(this, module, chosen, ...rest);
  };
}
