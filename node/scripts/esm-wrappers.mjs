#!/usr/bin/env node
// Writes dist/index.mjs and dist/testing.mjs: thin ESM files re-exporting the one CommonJS
// implementation (so `instanceof` holds however a class was loaded), and their .d.mts types.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const require = createRequire(import.meta.url);
for (const entry of ['index', 'testing']) {
  const names = Object.keys(require(join(dist, `${entry}.js`))).filter((n) => n !== '__esModule').sort();
  const header = '// Written by scripts/esm-wrappers.mjs: the ESM face of the CommonJS implementation.\n';
  writeFileSync(
    join(dist, `${entry}.mjs`),
    `${header}import cjs from './${entry}.js';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = cjs;\n`,
  );
  writeFileSync(join(dist, `${entry}.d.mts`), `${header}export * from './${entry}.js';\n`);
}
