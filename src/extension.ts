/**
 * The bundle entry (scripts/build.mjs builds dist/extension.js from this path). The host code
 * lives in src/vscode/; this file only re-exports it, so the build never names src/vscode/.
 */
export { activate, deactivate } from './vscode/extension';
