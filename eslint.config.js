// Lint: typescript-eslint's recommended rules, plus the house rules that keep the pure layers pure
// (STYLE §8: no clock, randomness, console or I/O under core, log, protocols, wasm).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const impure = [
  { name: 'Date', message: 'pure layers take time as an input' },
  { name: 'setTimeout', message: 'pure layers do not schedule' },
  { name: 'setInterval', message: 'pure layers do not schedule' },
  { name: 'console', message: 'pure layers do not log; return effects' },
  { name: 'process', message: 'pure layers do not read the environment' },
]

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'data/', 'bench/results/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/log/**/*.ts', 'src/protocols/**/*.ts', 'src/wasm/**/*.ts'],
    ignores: ['**/*.test.ts', 'src/core/native.ts'],
    rules: {
      'no-restricted-globals': ['error', ...impure],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'randomness arrives as an input' }],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:fs*', 'fs', 'node:net', 'node:child_process', 'node:crypto'], message: 'no I/O in pure layers' },
        { group: ['**/engine/**', '**/store/**', '**/transport/**', '**/chain/**', '**/rpc/**', '**/cli/**'], message: 'imports point down only (DESIGN §2)' },
      ] }],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
)
