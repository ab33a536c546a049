// ESLint for the TypeScript sources and the browser page (issue 20). Syntax-only rules: the
// type-aware ones needed a full TypeScript program per run, far too slow on a 2-core machine.
// Layout and line length are Prettier's job (.prettierrc.json), layers scripts/lint-architecture.ts's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'native/', 'web/vendor/', 'test/fixtures/**/*.mjs'] },
  js.configs.recommended,
  {
    rules: {
      // Stripping terminal escapes and control bytes from VM output is a job of this project
      // (console text, JUnit, env values), so a control character in a regex is meant.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'web/**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // An `any` needs a one-line why next to its eslint-disable comment.
      '@typescript-eslint/no-explicit-any': 'error',
      // `_`-prefixed names are deliberately unused (callback positions, destructuring rests).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Code passed to page.evaluate() runs in the browser page, whose globals (cy, umlabGraph,
    // umlabTerminals) have no TypeScript types: `(window as any)` is the honest spelling there.
    files: ['test/vm/web*.ts', 'scripts/web-screenshots.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['web/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
  {
    files: ['eslint.config.js'],
    languageOptions: { globals: globals.node },
  },
);
