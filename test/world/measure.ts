// Measure the world's hosts part (not a test: numbers for the report).
//   node dist/test/world/measure.js [counts...]     default counts: 1 3 10 30
// Stops any running world first, and leaves nothing running.

import { down, getWorld, stopAll } from './world.js';

const secs = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const counts = process.argv.slice(2).map(Number);
  await down();
  let t = Date.now();
  const world = await getWorld(() => {});
  console.log(`world start (prereqs, layers ${JSON.stringify(world.buildTimes)}, network): ${secs(Date.now() - t)} s`);
  for (const n of counts.length ? counts : [1, 3, 10, 30]) {
    t = Date.now();
    const hosts = await world.startHosts({ count: n, layer: 'pkgs' });
    const boot = Date.now() - t;
    const degraded = hosts.filter((h) => h.systemState !== 'running').length;
    const pss = hosts.map((h) => world.hostPssKb(h.name));
    const avgMb = pss.reduce((a, b) => a + b, 0) / pss.length / 1024;
    console.log(`${n} host(s): boot ${secs(boot)} s (${degraded} degraded), PSS per host ${avgMb.toFixed(1)} MB`);
    t = Date.now();
    await world.stopHosts();
    console.log(`${n} host(s): stop ${secs(Date.now() - t)} s`);
  }
  await world.startHosts({ count: 1, layer: 'pkgs' });
  const resets: number[] = [];
  for (let i = 0; i < 5; i++) {
    await world.hostExecOk('h1', 'apt-get remove -y -q s3cmd >/dev/null 2>&1; touch /root/dirty');
    t = Date.now();
    await world.resetHost('h1');
    resets.push(Date.now() - t);
  }
  console.log(`reset (1 host, to running + sshd): ${resets.map(secs).join(' ')} s`);
  await world.startHosts({ count: 3, layer: 'pkgs' });
  t = Date.now();
  const problems = await stopAll();
  console.log(`down (3 hosts + network): ${secs(Date.now() - t)} s${problems.length ? ` problems: ${problems.join('; ')}` : ''}`);
}

main().then(
  () => process.exit(0),
  async (e: Error) => {
    console.error(e.message);
    await stopAll();
    process.exit(1);
  },
);
