import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBus } from '../../shared/src/transport/create-bus.ts';
const sockets = new Set<Socket>();
const server = createServer((inbound) => {
  const outbound = tcpConnect(1883, '127.0.0.1');
  for (const s of [inbound, outbound]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
  inbound.pipe(outbound).pipe(inbound);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const t0 = Date.now();
const bus = await createBus(`mqtt://127.0.0.1:${port}`, { namespace: 'dbg', clientName: 'd', reconnectGiveUpMs: 1500, onEvent: (e) => console.log(Date.now()-t0, 'event', e) });
await bus.subscribe({ name: 'surv', topics: ['ping.*'] }, async (m) => { console.log(Date.now()-t0, 'got', m.topic); });
await bus.publish('ping.before', Buffer.from('1'));
await sleep(100);
for (const s of sockets) s.destroy();
console.log(Date.now()-t0, 'cut');
await bus.publish('ping.after', Buffer.from('2'));
console.log(Date.now()-t0, 'published after');
await sleep(300);
for (const s of sockets) s.destroy();
await new Promise<void>((r) => server.close(() => r()));
console.log(Date.now()-t0, 'stopped');
try { await bus.publish('ping.lost', Buffer.from('3')); console.log('published lost?!'); } catch (e) { console.log(Date.now()-t0, 'lost rejected', (e as Error).message); }
await bus.close();
console.log(Date.now()-t0, 'closed');
await bus.deleteSubscription('surv').catch((e) => console.log('delete after close', (e as Error).message));
