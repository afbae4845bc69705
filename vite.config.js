// Builds the browser islands into static/dist/ with stable names; Django's static
// storage adds content hashes in production. JSX is compiled by esbuild (vite's own),
// so no React plugin is needed.
import { defineConfig } from "vite";

export default defineConfig({
  publicDir: false,
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "static/dist",
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // React Flow marks its module "use client" (for React Server Components): harmless here.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: { charts: "frontend/charts.js", builder: "frontend/builder/main.jsx", gallery: "frontend/gallery.js", email: "frontend/email/main.jsx", conditions: "frontend/conditions/island.jsx" },
      output: { entryFileNames: "[name].js", chunkFileNames: "chunks/[name]-[hash].js", assetFileNames: "[name][extname]" },
    },
  },
  test: { include: ["frontend/**/*.test.js"], environment: "node" },
});
