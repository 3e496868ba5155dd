import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Most files wait on real sockets and the real clock rather than compute, so three workers
    // even on 2 cores (vitest's default there is one): the suite in about 3 minutes instead of 8.
    maxWorkers: 3,
    reporters: ["default", "./test/support/summaryReporter.ts"],
  },
})
