#!/usr/bin/env node
// Thin launcher: runs the compiled CLI (npm's "prepare" builds dist/ on install).
import('../dist/src/cli.js')
  .then((m) => m.main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err?.stack ?? String(err));
      process.exitCode = 1;
    },
  );
