import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers run one way (README, "Layout"): these rules hold the arrows that a type checker cannot.
const upward = (...folders) => folders.map((f) => ({ group: [`**/${f}/**`, `../${f}/*`, `../../${f}/*`], message: `no import up into ${f}/ from here` }));

export default tseslint.config(
  { ignores: ['node_modules/', 'tools/', 'data/', 'db/migrations/', 'templates/assets/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      'no-console': 'off',
    },
  },
  // Workflows are replayed in a sandbox: values only from the SDK's workflow API (and its sandbox-safe
  // @temporalio/common: search attribute keys, failure types) and each other; types from anywhere.
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/(workflow|common)$|\\./).*',
              allowTypeImports: true,
              message: 'workflows import values only from @temporalio/workflow, @temporalio/common and workflows/ (types from anywhere)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: upward('api', 'activities', 'services', 'workflows', 'bin', 'scripts') }] },
  },
  {
    files: ['db/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: upward('api', 'activities', 'services', 'workflows', 'bin', 'scripts', 'lib') }],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: upward('api', 'services', 'bin', 'scripts') }] },
  },
  { files: ['services/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: upward('api', 'bin', 'scripts') }] } },
  {
    files: ['api/routes/**/*.ts', 'api/console/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...upward('bin', 'scripts'),
            { group: ['../routes/*', './*.ts', '!./index.ts'], message: 'no route imports another route: share through services/ or lib/' },
          ],
        },
      ],
    },
  },
  {
    // A focused or skipped test would make CI run a subset without saying so.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['describe', 'it', 'test'].flatMap((object) => [
          { object, property: 'only', message: 'A focused test makes the run skip every other test.' },
          { object, property: 'skip', message: 'A skipped test is a test that never runs: fix it or delete it.' },
        ]),
      ],
    },
  },
);
