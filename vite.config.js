// Builds the browser islands into static/dist/ with stable names; Django's static
// storage adds content hashes in production.
import { defineConfig } from "vite";

export default defineConfig({
  publicDir: false,
  build: {
    outDir: "static/dist",
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: { charts: "frontend/charts.js" },
      output: { entryFileNames: "[name].js", chunkFileNames: "chunks/[name]-[hash].js", assetFileNames: "[name][extname]" },
    },
  },
});
