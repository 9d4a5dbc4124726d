// The suite's mocha config without its spec globs, for scripts/test-node.sh when it is given
// specs: mocha adds command-line specs to the config's instead of replacing them.
module.exports = { ...require('../.mocharc.cjs'), spec: [] };
