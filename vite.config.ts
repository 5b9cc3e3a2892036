import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const devServerPort = Number(process.env.PORT ?? 8080);

export default defineConfig({
  root: 'client',
  publicDir: 'public',
  plugins: [svelte()],
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    port: 5173,
    proxy: {
      '/socket.io': { target: `http://localhost:${devServerPort}`, ws: true },
      '/api': `http://localhost:${devServerPort}`,
      '/healthz': `http://localhost:${devServerPort}`,
      '/hls': `http://localhost:${devServerPort}`,
    },
  },
});
