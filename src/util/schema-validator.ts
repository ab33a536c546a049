// JSON-schema validators (ajv) kept compiled on disk: ajv takes about a second to compile the lab
// schema, which every `umlab up`, `validate` and `test` paid at start. The compiled code
// (ajv's standalone output) is cached by a hash of the schema, the options and ajv's version,
// next to the bundle (dist/schema/) or in a per-user cache (util/native-build.ts buildDir).
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compileFunction } from 'node:vm';
import { Ajv2020, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import standalone from 'ajv/dist/standalone/index.js';
import { buildDir } from './native-build.ts';

// The compiled code requires ajv's runtime helpers (ajv/dist/runtime/*) from umlab's node_modules.
const require = createRequire(import.meta.url);
// A CommonJS module whose default export Node hands over as the module itself, a bundler as `.default`.
const standaloneCode = ((standalone as unknown as { default?: typeof standalone.default }).default ?? standalone) as typeof standalone.default;

/** A validator of `schema`, from the cache when it holds one for this schema, else compiled (and cached). */
export function cachedValidator(name: string, schema: object, options: Options, dir?: string): ValidateFunction {
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  const key = createHash('sha256')
    .update(JSON.stringify([ajvVersion, options, schema]))
    .digest('hex')
    .slice(0, 16);
  let file: string | undefined;
  try {
    file = join(dir ?? buildDir('schema'), `${name}-${key}.cjs`);
    return load(readFileSync(file, 'utf8'));
  } catch {
    // Not cached yet (or not readable): compile, and keep the code when there is somewhere to keep it.
  }
  const ajv = new Ajv2020({ ...options, code: { ...options.code, source: true } });
  const validate = ajv.compile(schema);
  if (file) {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, standaloneCode(ajv, validate), { mode: 0o644 });
      renameSync(tmp, file); // another umlab meanwhile reads the whole file or none
    } catch {
      rmSync(tmp, { force: true });
    }
  }
  return validate;
}

function load(code: string): ValidateFunction {
  const module = { exports: {} as { default?: ValidateFunction } };
  // As Node runs a CommonJS file, with umlab's require: the cache may be outside the project tree.
  (compileFunction(code, ['require', 'module', 'exports']) as (...args: unknown[]) => void)(require, module, module.exports);
  if (typeof module.exports.default !== 'function') throw new Error('not a compiled validator');
  return module.exports.default;
}
