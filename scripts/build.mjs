// Bundles the extension host code, the CLI and the webview with esbuild (configs in
// buildConfig.mjs). onnxruntime-node stays external: it ships native binaries that must be
// loaded from node_modules.
import * as esbuild from 'esbuild';
import { buildConfigs } from './buildConfig.mjs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const configs = Object.values(buildConfigs({ production }));

if (watch) {
  for (const config of configs) await (await esbuild.context(config)).watch();
} else {
  await Promise.all(configs.map((config) => esbuild.build(config)));
}
