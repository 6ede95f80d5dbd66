// The frame of a one-off measurement script (bench:layout-c, bench:move): run it, always stop the
// world afterwards, exit 1 with the stack when it failed.
import { stopAll } from '../test/world/world.js';

export function runScript(main: () => Promise<void>): void {
  main()
    .then(
      () => stopAll(),
      async (e) => {
        console.error((e as Error).stack ?? e);
        await stopAll();
        process.exitCode = 1;
      },
    )
    .then(() => process.exit());
}
