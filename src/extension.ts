/**
 * The bundle entry (scripts/build.mjs builds dist/extension.js from this path). The host code
 * lives in src/vscode/: extension.ts activates, commandTable.ts maps each command of
 * package.json to its handler. This file only re-exports, so the build never names src/vscode/.
 */
export { activate, deactivate } from './vscode/extension';
