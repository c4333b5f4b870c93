import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.switchyard/', 'bench/.cache/', 'bench/overhead/.peers/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // Dependencies point inward (../shared/DESIGN.md): capabilities know the kernel, server/ knows
  // both, and only cli/ knows server/. The kernel knows no capability: api/ and util/ only.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/server/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)(server|cli)/', message: 'Only src/cli may import src/server, and nothing imports src/cli: move the contract into api/ or pipeline/.' }] }],
    },
  },
  // Batch reaches persistence through the ports it owns (src/batch/ports.ts); only its wiring
  // (index.ts) names the store that implements them.
  {
    files: ['src/batch/**/*.ts'],
    ignores: ['src/batch/index.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)(server|cli)/', message: 'Only src/cli may import src/server, and nothing imports src/cli: move the contract into api/ or pipeline/.' },
        { regex: '(^|/)store/', message: 'Batch types against its ports (src/batch/ports.ts); only src/batch/index.ts wires in src/store.' },
      ] }],
    },
  },
  {
    files: ['src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)cli/', message: 'src/server must not import src/cli.' }] }],
    },
  },
  {
    files: ['src/pipeline/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!api/|util/)', message: 'The request kernel imports api/ and util/ only.' }] }],
    },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
