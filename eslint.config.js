import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports from `rooms` are refused: the direction is operator → kube → controller. */
const onlyDownwards = (rooms, why) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ regex: `(^|/)(${rooms.join('|')})/`, message: why }] },
  ],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'manifests/**', 'charts/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/kube/**/*.ts'],
    rules: onlyDownwards(
      ['operator', 'installer'],
      'src/kube is the Kubernetes adapter: it takes what it needs from the operator as parameters (docs/architecture.md)',
    ),
  },
  {
    files: ['src/controller/**/*.ts'],
    rules: onlyDownwards(
      ['operator', 'installer', 'kube'],
      'src/controller is the controller kit: no domain and no adapter in it (docs/architecture.md)',
    ),
  },
);
