import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The web interface's bundle: web/ → dist/web, built by scripts/build.mjs and served by
 * `evidock serve`. Everything ships in the bundle (no CDN, no font or tile downloads), with
 * hashed file names so the server can let browsers cache them for good.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
