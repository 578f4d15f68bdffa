import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'tools/', 'data/', 'db/migrations/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // A focused or skipped test would make CI run a subset without saying so.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error',
        ...['describe', 'it', 'test'].flatMap((object) => [
          { object, property: 'only', message: 'A focused test makes the run skip every other test.' },
          { object, property: 'skip', message: 'A skipped test is a test that never runs: fix it or delete it.' },
        ])],
    },
  },
);
