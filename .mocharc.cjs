// One mocha run for every suite of the monorepo. TypeScript tests run through tsx; packages are
// imported by name from their built dist/ (npm test builds first).
module.exports = {
  'node-option': ['import=tsx'],
  // Test databases: starts the dialects suites use once per run, prints them, stops them at the end.
  require: ['./test/support/global-setup.ts'],
  spec: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
  reporter: './test/support/reporter.cjs',
  timeout: 20000,
  exit: true,
};
