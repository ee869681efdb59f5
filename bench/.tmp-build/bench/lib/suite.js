/** What every benchmark suite (client now; server, scanner, guard later) offers to bench/run.ts. */
export {};
//# sourceMappingURL=suite.js.map