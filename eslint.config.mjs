// Lint: typescript-eslint's recommended rules over src, tests, bench and scripts. Style is Prettier's job
// (.prettierrc); ESLint only reports code that is likely wrong or dead.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/**', '.lab/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Dead code is an error: unused imports, locals and parameters (a leading _ marks a deliberate one).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // HNS and CNI documents are open-ended JSON; `any` is kept out of src by review, not by this rule.
      '@typescript-eslint/no-explicit-any': 'off',
      // koffi's native module and the V8 code-cache loader are loaded with require() on purpose (lazily).
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
