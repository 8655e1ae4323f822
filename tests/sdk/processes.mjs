// What both SDK tests need around the real binaries: free loopback ports, child processes
// stopped when the test exits, and waiting on a condition with a deadline.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const children = [];
export function start(binary, args) {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data) => { stderr += data; });
  child.exitedEarly = () => child.exitCode !== null ? stderr : null;
  children.push(child);
  return child;
}
export function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('exit', stopAll);

// Waits until `condition()` resolves truthy, polling every 20 ms, up to `ms`; fails at once
// when a started process has exited.
export async function eventually(condition, ms, what) {
  const until = Date.now() + ms;
  for (;;) {
    for (const child of children) {
      if (child.exitedEarly() !== null) throw new Error('a process exited: ' + child.exitedEarly());
    }
    try {
      if (await condition()) return;
    } catch { /* not up yet */ }
    if (Date.now() > until) throw new Error('timed out waiting for ' + what);
    await sleep(20);
  }
}
