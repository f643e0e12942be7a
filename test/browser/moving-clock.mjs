// Preloaded into the demo process by the browser tests (node --import): a POST to
// http://127.0.0.1:$MOVING_CLOCK_PORT/ moves the process's Date.now, which nest-warden's clock
// reads, forward by MOVING_CLOCK_STEP_MS, and answers how far ahead it is. So a login can grow
// older than @RequireRecentLogin(300) allows without waiting five minutes. (Not a signal: the
// demo's shutdown hooks take SIGUSR2 and the rest.)
import { createServer } from 'node:http';

const realNow = Date.now.bind(Date);
const stepMs = Number(process.env.MOVING_CLOCK_STEP_MS);
const port = Number(process.env.MOVING_CLOCK_PORT);
if (!Number.isSafeInteger(stepMs) || stepMs <= 0) throw new Error('MOVING_CLOCK_STEP_MS must be a positive integer');
let offsetMs = 0;
Date.now = () => realNow() + offsetMs;

const control = createServer((request, response) => {
  if (request.method === 'POST') offsetMs += stepMs;
  response.end(JSON.stringify({ offsetMs }));
});
control.listen(port, '127.0.0.1');
// The control server never keeps the demo alive: its shutdown ends the process as before.
control.unref();
