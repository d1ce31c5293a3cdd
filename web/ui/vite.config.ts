/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The built files go to ../static, which the Go server embeds (web/web.go),
// so `go build` needs no Node. Asset paths are relative ("./assets/...")
// so the page works wherever the server mounts it.
//
// `npm run dev` serves the sources with hot reload and forwards the API to
// a running mitmweb: MITMWEB=http://127.0.0.1:8081 npm run dev, then open
// http://localhost:5173/?token=<the token mitmweb printed>.
declare const process: { env: Record<string, string | undefined> };
const backend = process.env.MITMWEB ?? "http://127.0.0.1:8081";
const api = [
  "/flows",
  "/events",
  "/options",
  "/state",
  "/commands",
  "/filter-help",
  "/clear",
  "/processes",
];

export default defineConfig({
  base: "./",
  plugins: [preact()],
  build: {
    outDir: "../static",
    emptyOutDir: true,
    sourcemap: false,
    assetsDir: "assets",
    target: "es2022",
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      ...Object.fromEntries(api.map((p) => [p, { target: backend, changeOrigin: false }])),
      "/updates": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
