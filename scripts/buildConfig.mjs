// The esbuild configurations (scripts/build.mjs builds them; scripts/test-unit.mjs builds the
// CLI's into .cache so the unit tests spawn a bundled CLI instead of compiling sources per process).
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

export function buildConfigs({ production = false } = {}) {
  const common = {
    bundle: true,
    sourcemap: !production,
    minify: production,
    logLevel: 'info',
    define: { 'process.env.RECMARK_VERSION': JSON.stringify(version) },
  };
  return {
    extension: {
      ...common,
      entryPoints: { extension: 'src/extension.ts' },
      outdir: 'dist',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'onnxruntime-node'],
    },
    cli: {
      ...common,
      entryPoints: { cli: 'src/cli/main.ts' },
      outdir: 'dist',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['onnxruntime-node'],
      banner: { js: '#!/usr/bin/env node' },
    },
    webview: {
      ...common,
      entryPoints: { webview: 'webview/src/main.ts' },
      outdir: 'dist',
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
    },
  };
}
