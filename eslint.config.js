import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import noImportCycle from './eslint-rules/no-import-cycle.js';

const rules = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
};

// Our own rule, not import-x/no-cycle: that one skips type-only imports and has no option to count them.
const local = { plugins: { aries: { rules: { 'no-import-cycle': noImportCycle } } } };
const cycles = (project) => ({ 'aries/no-import-cycle': ['error', { project }] });

/**
 * The dependency rule of docs/ARCHITECTURE.md: core ← db ← sdk, worker ← server ← cli (with verify);
 * src/errors.ts is importable by all and imports only core; src/worker takes from src/sdk only the public
 * types (src/sdk/types), which import only core; the demo is an application on the SDK; nothing imports
 * server, cli, verify or demo, except cli (and verify, part of it) importing server. Each zone lists what
 * a layer may import; anything else under src/ is refused, type imports included.
 */
const layer = (target, allowed, message) => ({
  target,
  from: './src',
  except: allowed,
  message: `Layer rule (docs/ARCHITECTURE.md): ${message}`,
});
const zones = [
  layer('./src/core', ['./core', './errors.ts'], 'src/core is pure logic; it imports only src/core and src/errors.ts.'),
  layer('./src/errors.ts', ['./core'], 'src/errors.ts is importable by all, so it imports only src/core.'),
  layer('./src/db', ['./core', './db', './errors.ts'], 'src/db imports only src/core, src/db and src/errors.ts.'),
  layer('./src/sdk/types', ['./core', './errors.ts', './sdk/types'], 'src/sdk/types (the public types) imports only src/core and src/errors.ts.'),
  layer(
    './src/worker',
    ['./core', './db', './errors.ts', './worker', './sdk/types'],
    'src/worker imports src/core, src/db, src/errors.ts and, of the SDK, only its public types in src/sdk/types.',
  ),
  layer('./src/sdk', ['./core', './db', './errors.ts', './sdk', './worker'], 'src/sdk imports only src/core, src/db, src/errors.ts and src/worker.'),
  layer(
    './src/server',
    ['./core', './db', './errors.ts', './sdk', './worker', './server'],
    'src/server imports the layers below it; nothing but the CLI imports it, and it imports no CLI.',
  ),
  layer(
    './src/demo',
    ['./core', './db', './errors.ts', './sdk', './worker', './index.ts', './demo'],
    'src/demo is an application on the SDK; it imports no server, CLI or verify.',
  ),
  {
    target: './src/index.ts',
    from: ['./src/server', './src/cli', './src/verify', './src/demo'],
    message: 'Layer rule (docs/ARCHITECTURE.md): the package entry re-exports the SDK; the server has its own entry (aries/server), the CLI is the bin.',
  },
  {
    target: ['./src/cli', './src/verify'],
    from: ['./src/demo', './src/index.ts'],
    message: 'Layer rule (docs/ARCHITECTURE.md): the CLI imports modules, not the package entry or the demo.',
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.aries*/**', 'bench/peers/node_modules/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['bench/peers/**'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX, ...local.plugins },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: { ...rules, ...cycles('./tsconfig.json') },
  },
  {
    // bench/peers has its own package.json and tsconfig (the peers' packages resolve from its node_modules).
    files: ['bench/peers/**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './bench/peers/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX, ...local.plugins },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './bench/peers/tsconfig.json' })] },
    rules: { ...rules, ...cycles('./bench/peers/tsconfig.json') },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones }] },
  },
  // The dashboard is browser code with its own tsconfig (DOM, JSX, bundler resolution).
  {
    files: ['dashboard/src/**/*.{ts,tsx}'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './dashboard/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX, ...local.plugins },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './dashboard/tsconfig.json' })] },
    rules: { ...rules, ...cycles('./dashboard/tsconfig.json') },
  },
  {
    files: ['dashboard/vite.config.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './dashboard/tsconfig.node.json', tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error', '@typescript-eslint/consistent-type-imports': rules['@typescript-eslint/consistent-type-imports'] },
  },
);
