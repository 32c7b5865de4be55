import { defineConfig } from "vite";

// JSX goes through Vite's own transform with Preact's automatic runtime (see tsconfig.json's
// jsx/jsxImportSource), so no Babel plugin is needed.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    // Assets stay files: the gateway serves them under a strict CSP from its own origin.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // `npm run dev` beside `make dev`: the API is on the gateway's port.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
