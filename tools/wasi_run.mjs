// Runs a wasm32-wasip1 test binary under Node's WASI: `node tools/wasi_run.mjs FILE.wasm [libtest args]`.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv } from 'node:process';
const wasi = new WASI({ version: 'preview1', args: ['test', ...argv.slice(3)], env: {}, preopens: { '/': '/' } });
const mod = await WebAssembly.compile(await readFile(argv[2]));
const inst = await WebAssembly.instantiate(mod, wasi.getImportObject());
process.exitCode = wasi.start(inst);
