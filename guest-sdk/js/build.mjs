// Build a JavaScript guest into a component:
//
//     node build.mjs [--backend starlingmonkey|quickjs] <entry.js> <wit-dir> <out.wasm>
//
// - starlingmonkey (default): componentize-js, SpiderMonkey. `fetch`/`wasi:http` is disabled:
//   guests get no network, and Interpose refuses a component that imports wasi:http.
// - quickjs: componentize-qjs (the backend of `jco componentize --backend quickjs`), in its
//   synchronous mode (Interpose's hooks are synchronous; the async ABI is not enabled in the
//   host's engine).
//
// Run from a directory whose node_modules has the pinned toolchain (guest-sdk/js/package.json;
// `cargo xtask toolchains` installs it), or with NODE_PATH pointing there.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
let backend = 'starlingmonkey';
if (args[0] === '--backend') {
  backend = args[1];
  args.splice(0, 2);
}
const [entry, wit, out] = args;
if (!entry || !wit || !out || !['starlingmonkey', 'quickjs'].includes(backend)) {
  console.error('usage: node build.mjs [--backend starlingmonkey|quickjs] <entry.js> <wit-dir> <out.wasm>');
  process.exit(2);
}
const world = 'interpose:interceptor/interceptor@0.5.0';
// Resolve the toolchain from the working directory (where `npm ci` put node_modules).
const require = createRequire(resolve('package.json'));
const started = Date.now();
let component;
if (backend === 'starlingmonkey') {
  // ESM-only package: import its entry point by path.
  const entryPoint = resolve('node_modules/@bytecodealliance/componentize-js/src/componentize.js');
  const { componentize } = await import(pathToFileURL(entryPoint).href);
  ({ component } = await componentize({
    sourcePath: resolve(entry),
    witPath: resolve(wit),
    worldName: world,
    disableFeatures: ['http', 'fetch-event'],
  }));
} else {
  const { componentize } = require('componentize-qjs');
  ({ component } = await componentize({
    witPath: resolve(wit),
    jsSource: await readFile(entry, 'utf8'),
    jsPath: resolve(entry),
    moduleRoot: dirname(resolve(entry)),
    world,
    sync: true,
  }));
}
await writeFile(out, component);
const mib = (component.length / 1048576).toFixed(1);
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.error(`${backend}: ${out} (${mib} MiB, ${secs} s)`);
