// ESLint for src, test, bench and scripts (`npm run lint`, part of `npm test`).
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
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

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'deb/', 'rpm/', '**/fixtures/'] },
  {
    files: ['**/*.ts', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver()] },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones }] },
  },
);
