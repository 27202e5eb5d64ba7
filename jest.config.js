/** One Jest run for the whole repository: unit and integration specs of the library, e2e specs of the sample app. */
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(libs/.*\\.spec|test/.*\\.(spec|e2e-spec))\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  moduleNameMapper: {
    '^@strata/cache$': '<rootDir>/libs/cache/src',
    '^@strata/cache/(.*)$': '<rootDir>/libs/cache/src/$1',
  },
  // fast-check's seed, fixed (see the file).
  setupFiles: ['<rootDir>/jest.setup.js'],
  testTimeout: 120_000,
  maxWorkers: 2,
  // Every suite must close what it opened; a leaked socket or timer shows up here instead of hanging CI.
  detectOpenHandles: false,
  forceExit: false,
};
