// Vite builds the console into static files; scripts/build passes --outDir
// (<build dir>/console/dist). JSX is Preact's; nothing else is needed.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    // hashed names under /assets/ (the coordinator caches them for a year)
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2020',
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` talks to a local coordinator's API
    proxy: { '/api': 'http://127.0.0.1:8470' },
  },
});
