// The bench app as a process of its own, for the HTTP benchmarks: the app of bench-module.ts on
// Express, or Fastify with BENCH_ADAPTER=fastify, on PORT (default 3100). Over the IPC channel,
// { profile: 'start' } starts a CPU profile of this process and { profile: 'stop' } sends it back
// ({ profile: <the .cpuprofile JSON> }): bench:profile profiles just the measured window.
import { Session } from 'node:inspector/promises';
import { createBenchApp } from './bench-module.js';

const app = await createBenchApp(process.env.BENCH_ADAPTER === 'fastify' ? 'fastify' : 'express');
await app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
process.send?.('ready');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}

let profiler: Session | undefined;
process.on('message', (message: { profile?: 'start' | 'stop' }) => {
  void (async () => {
    if (message.profile === 'start') {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      // 100 us between samples (the default is 1 ms): requests here take tens of microseconds.
      await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
      await profiler.post('Profiler.start');
      process.send?.({ profile: 'started' });
    } else if (message.profile === 'stop' && profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      process.send?.({ profile });
    }
  })();
});
