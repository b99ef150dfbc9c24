import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import globals from 'globals';
import jupyterPlugin from '@jupyter/eslint-plugin';

/**
 * Folder-level import rules of the frontend split (docs: ARCHITECTURE 3.6):
 * components -> widgets -> models -> api, each layer importing only below it.
 */
const restrict = (...groups) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: groups.map(group => ({
        group: [group],
        message: 'Breaks the components -> widgets -> models -> api layering.'
      }))
    }
  ]
});

export default defineConfig([
  {
    ignores: [
      'node_modules',
      'dist',
      'coverage',
      'lib',
      '**/*.js',
      '**/*.d.ts',
      '.venv',
      'modelvault_jlab',
      'ui-tests',
      // generated from modelvault_jlab/web/openapi.yaml (scripts/write-schema.js)
      'src/api/schema.ts'
    ]
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    plugins: {
      jupyter: jupyterPlugin
    }
  },
  jupyterPlugin.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      globals: {
        ...globals.browser,
        ...globals.es2015,
        ...globals.node
      },
      parserOptions: {
        project: 'tsconfig.eslint.json',
        sourceType: 'module'
      }
    },
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: {
            regex: '^I[A-Z]',
            match: true
          }
        }
      ],
      '@typescript-eslint/no-unused-vars': ['warn', { args: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-use-before-define': 'off',
      curly: ['error', 'all'],
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error'
    }
  },
  {
    files: ['src/api/**'],
    rules: restrict('**/models/*', '**/widgets/*', '**/components/*')
  },
  {
    files: ['src/models/**'],
    rules: restrict('**/widgets/*', '**/components/*')
  },
  {
    files: ['src/components/**'],
    rules: restrict('**/widgets/*', '**/api/*', '**/models/*')
  },
  prettierRecommended
]);
