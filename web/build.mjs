// Builds the command-centre page into dist/: one JS and one CSS bundle with
// content-hashed names under dist/assets/, and dist/index.html that names them.
// The Go server embeds dist/ (see web.go), compresses the assets once at start and
// serves them with long cache lifetimes; index.html is served with no-cache.
import * as esbuild from 'esbuild';
import { readFile, writeFile, readdir, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';

const dist = 'dist';

// Empty dist/ but keep the committed placeholder that lets Go embed it unbuilt.
await mkdir(dist, { recursive: true });
for (const name of await readdir(dist)) {
  if (name !== '.keep') await rm(path.join(dist, name), { recursive: true, force: true });
}

const result = await esbuild.build({
  entryPoints: ['src/main.js'],
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

let js = '', css = '';
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  const rel = path.relative(dist, file).split(path.sep).join('/');
  if (out.entryPoint === 'src/main.js') js = rel;
  else if (file.endsWith('.css')) css = rel;
}
if (!js || !css) throw new Error(`build: missing outputs (js=${js} css=${css})`);

const html = (await readFile('src/index.html', 'utf8'))
  .replace('%CSS%', `/${css}`)
  .replace('%JS%', `/${js}`);
await writeFile(path.join(dist, 'index.html'), html);
console.log(`built ${js}, ${css}, index.html`);
