import { defineConfig } from "vite";

// The build is served by the local cloud (profile.WEB_DIR = web/dist) and, in AWS, by CloudFront from S3:
// everything it needs is in dist/, nothing is fetched from another origin at run time.
export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // lightweight-charts is loaded on demand (the chart views import it dynamically).
    chunkSizeWarningLimit: 250,
  },
  server: {
    // `npm run dev` against a running local cloud (make run): same-origin API and WebSocket through the proxy.
    proxy: { "/api": { target: "http://127.0.0.1:8000", ws: true } },
  },
});
