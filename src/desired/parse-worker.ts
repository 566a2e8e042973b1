/**
 * Entry of the parse worker thread (see OffThreadParser): says it is ready
 * once its code has loaded, then answers each ParseRequest with
 * parseAndRender, one at a time, in order.
 */
import { parentPort } from 'node:worker_threads';
import { parseAndRender, transferablesOf, type ParseRequest, type WorkerMessage } from './parse-and-render.ts';

if (!parentPort) throw new Error('parse-worker.ts runs as a worker thread (src/desired/off-thread-parser.ts)');
const port = parentPort;
port.on('message', (request: ParseRequest) => {
  const response = parseAndRender(request);
  port.postMessage(response satisfies WorkerMessage, transferablesOf(response));
});
port.postMessage({ ready: true } satisfies WorkerMessage);
