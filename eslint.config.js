import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    noJsx: true,
    ignores: ['dist/', 'node_modules/', '.bench-out*/', '.bench-base*/', 'coverage/', 'src/backend/types/ocpp*.ts']
  }),
  {
    rules: {
      // `void promise` is how this code marks a promise it deliberately does not await (the form
      // no-floating-promises accepts), so void is allowed as a statement and nowhere else.
      'no-void': ['error', { allowAsStatement: true }],
      // `${cid}`, `${id}`, `${version}`... in plain strings are the topic and credential templates
      // of the gateway's config and the simulator, not mistyped template literals.
      'no-template-curly-in-string': 'off',
      // The per-version tables key on OCPP version strings ('1.6', '2.0.1', '2.1'): as-needed would
      // turn '1.6' and '2.1' into bare numbers next to a quoted '2.0.1', so unneeded quotes are allowed.
      '@stylistic/quote-props': ['error', 'as-needed', { unnecessary: false }]
    }
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      // node:test's test()/describe() return promises that the runner itself tracks: calling them
      // unawaited at the top level (or in a describe) is the documented usage.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }]
      }]
    }
  }
]
