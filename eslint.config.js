// ESLint for src, test, bench and scripts (`npm run lint`, part of `npm test`).
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, top to bottom, as README's Layout paragraph explains: a
 * file may import from folders on lower lines only. Folders on one line are
 * peers and do not import each other. A new import that goes up (or sideways)
 * fails `npm test`; the fix is to move the concept both need down, not to
 * re-export it.
 */
const LAYERS = [
  ['cli'],
  ['*.ts'], // the files directly in src/: daemon.ts, the composition root, and daemon-wiring.ts
  ['config'],
  ['status'],
  ['supervisor'],
  ['reconciler', 'probes', 'images', 'doctor'],
  ['state'],
  ['desired'],
  ['manifest'],
  ['policy'],
  ['podman'],
  ['shared'],
];

const zonePath = (name) => (name.endsWith('.ts') ? `./src/${name}` : `./src/${name}/**`);
const layerZones = LAYERS.flatMap((line, index) =>
  line.flatMap((name) => {
    const above = LAYERS.slice(0, index).flat();
    const peers = line.filter((other) => other !== name);
    const from = [...above, ...peers].map(zonePath);
    const message = `src/${name} is below it in the layers (README, Layout; eslint.config.js): move what both need down instead`;
    return from.length === 0 ? [] : [{ target: zonePath(name), from, message }];
  }),
);

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'deb/', 'rpm/', '**/fixtures/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.cjs'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver()] },
  },
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.cjs'],
    rules: {
      // tsc's noUnusedLocals/noUnusedParameters check this too; a leading `_` marks a deliberate leftover, as tsc allows.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // Rejecting with an AbortSignal's reason (typed any) or a caught unknown is the abort idiom (node's timers/promises does the same).
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // node:test's describe() and it() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      // printable.ts and the CLI's tests match control characters on purpose: they are what gets escaped.
      'no-control-regex': 'off',
    },
  },
  {
    // Lines of code: comments record reasons here and are not to be traded away for length. Not for test/,
    // where a describe() callback is a table of cases rather than one piece of logic.
    files: [
      'src/**/*.ts',
      'bench/**/*.ts',
      'scripts/**/*.ts',
      'scripts/**/*.mjs',
      'scripts/**/*.cjs',
      'bench/**/*.mjs',
    ],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON output, YAML and fixtures loosely: a wrong shape fails the assertion that follows.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Fakes implement async interfaces (Podman, Clock) with bodies that have nothing to await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JavaScript outside tsconfig.json: no types to check with.
    files: ['**/*.mjs', '**/*.cjs', 'eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        Buffer: 'readonly',
      },
    },
  },
  {
    // The executable's loaders (scripts/build), run as CommonJS inside the single executable.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable' },
    },
    // CommonJS is what they are: node:sea's loader gets require, not import.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones }] },
  },
);
