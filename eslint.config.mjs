import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ORT_ONLY_IN_ORT_TS = {
  name: 'onnxruntime-node',
  message: 'Use src/core/onnx/ort.ts: it is the one module that imports onnxruntime-node.',
};

const VSCODE_ONLY_IN_HOST = {
  name: 'vscode',
  message:
    'Only the VS Code host code (src/vscode/) imports vscode; core/ and the CLI run without it.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', '.cache/**', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'test/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly' } },
  },
  {
    // One home for onnxruntime: only src/core/onnx/ort.ts loads it, opens sessions and builds
    // tensors. Tests and benches under test/ may import it for plain-onnxruntime comparisons.
    // One home for the VS Code host: only src/vscode/ (and the bundle entry src/extension.ts)
    // imports vscode, so core/, the CLI and the webview run without it.
    files: ['src/**/*.ts', 'webview/src/**/*.ts'],
    ignores: ['src/core/onnx/ort.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [VSCODE_ONLY_IN_HOST, ORT_ONLY_IN_ORT_TS] }],
      // The forms no-restricted-imports does not see: import(), typeof import() and require().
      'no-restricted-syntax': [
        'error',
        ...[
          "ImportExpression[source.value='onnxruntime-node']",
          "TSImportType[argument.literal.value='onnxruntime-node']",
          "CallExpression[callee.name='require'][arguments.0.value='onnxruntime-node']",
        ].map((selector) => ({ selector, message: ORT_ONLY_IN_ORT_TS.message })),
      ],
    },
  },
  {
    // The host may import vscode. (A later entry replaces an earlier one's paths, so this one
    // repeats onnxruntime-node.)
    files: ['src/vscode/**/*.ts', 'src/extension.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [ORT_ONLY_IN_ORT_TS] }],
    },
  },
  {
    files: ['src/core/onnx/ort.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [VSCODE_ONLY_IN_HOST] }],
    },
  },
);
