// ESLint for the TypeScript sources and the browser page (issue 20). src/ also gets the
// type-aware rules (about 10 s for src/ on 2 cores); tests, benches and scripts the syntax ones.
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
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Off where they cost more than they catch here: a lab file's or a checker config's values
      // are `unknown` until the schema has vouched for them, and messages show them as given
      // (String() of each would say nothing more); the kinds' registry holds kinds of many
      // segment types, typed at its edges (kinds/index.ts) rather than at every use.
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // A command's run() or a kind's start() is async by its interface, awaited or not.
      '@typescript-eslint/require-await': 'off',
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
