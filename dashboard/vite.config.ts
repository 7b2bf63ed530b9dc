/**
 * Builds the dashboard into dist/dashboard, which the API server serves at `/`. Relative asset paths
 * (base './') and hash routing keep it working behind a reverse proxy under any path prefix.
 * `npm run dashboard:dev` serves it with hot reload, proxying /api to ARIES_API_URL (default
 * http://127.0.0.1:7070, `aries serve`); the proxy names the server's own origin, since the server
 * refuses writes from any other.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.ARIES_API_URL ?? 'http://127.0.0.1:7070';

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { '/api': { target: api, changeOrigin: true, headers: { origin: api } } },
  },
});
