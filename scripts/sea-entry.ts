// Entry of the single-executable bundle (scripts/build). SEA needs CommonJS,
// and CommonJS has no top-level await, so this is src/cli/main.ts without it.
// A rejection is left unhandled on purpose: Node then prints the stack and
// exits 1, exactly as src/cli/main.ts behaves when run from source.
import { exitQuietlyWhenPipeCloses } from '../src/cli/closed-pipe.ts';
import { runMain } from '../src/cli/run-main.ts';

exitQuietlyWhenPipeCloses(process.stdout);
exitQuietlyWhenPipeCloses(process.stderr);
void runMain(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
