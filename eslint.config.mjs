import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'charts/', '.sandbox/', '.lint-fixture-*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One injected clock: guards, expiry and waits are testable without sleeping.
    files: ['src/**/*.ts', 'handlers/**/*.ts', 'jobs/**/*.ts'],
    ignores: ['src/kernel/clock.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the injected clock (src/kernel/clock.ts).' },
      ],
    },
  },
  {
    // client-node's code reaches the product through one module, which the build bundles.
    files: ['src/**/*.ts', 'handlers/**/*.ts', 'jobs/**/*.ts'],
    ignores: ['src/kernel/kubernetes/client-node.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message: 'Take its values from src/kernel/kubernetes/client-node.ts, the bundled door.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { module: 'writable', require: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The sandbox workspace page's script: an ES module run by the browser, not by Node.
    files: ['sandbox/workspace/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        module: 'off',
        require: 'off',
        process: 'off',
        window: 'readonly',
        document: 'readonly',
        localStorage: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        Element: 'readonly',
        HTMLButtonElement: 'readonly',
      },
    },
    rules: { 'no-console': 'error', '@typescript-eslint/no-require-imports': 'error' },
  },
);
