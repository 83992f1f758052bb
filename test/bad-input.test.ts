/**
 * Bad input never crashes and never passes silently: a message naming file, line and column and
 * what was expected, exit status 2, no stack trace (DESIGN.md, quality bars).
 */
import { describe, expect, it } from 'vitest';
import { cli, tmp, tmpFile } from './helpers/cli.js';

const H = 'event,cpu,task,mm,va,size';
/** A system with one SMMU and one device, and a header with the device columns. */
const S = '# system: {"smmus":[{"name":"s0"}],"devices":[{"name":"d","smmu":"s0"}]}\n';
const D = 'event,cpu,task,mm,device,va,size,prot,op';

/** [name, trace text, expected line:col, a phrase the message must contain] */
const CASES: [string, string, string, string][] = [
  ['unknown column', 'event,cpu,tsk\nschedule,0,1\n', ':1:11:', 'unknown column "tsk"'],
  ['duplicate column', 'event,cpu,cpu\n', ':1:11:', 'appears twice'],
  ['no event column', 'cpu,task\n0,1\n', ':1:1:', 'no "event" column'],
  ['unknown event', `${H}\nfork,,1,,,\nswitch,0,1,,,\n`, ':3:1:', 'unknown event "switch"'],
  ['event named like an Object method', `${H}\nfork,,1,,,\ntoString,0,1,,,\n`, ':3:1:', 'unknown event "toString"'],
  ['non-integer cpu', `${H}\nfork,,1,,,\nschedule,x1,1,,,\n`, ':3:10:', 'expected a non-negative integer'],
  ['missing required column value', `${H}\nfork,,1,,,\nschedule,,1,,,\n`, ':3:10:', 'needs a value in column cpu'],
  ['column not used by the event', `${H}\nfork,3,1,,,\n`, ':2:6:', 'column cpu is not used by event fork'],
  ['integer above 2^53', `${H}\nfork,,1,,,\naccess,0,,,0xffffffffffffffff,\n`, ':3:12:', 'larger than 2^53'],
  ['time goes backwards', 'time,event,task\n10,fork,1\n5,fork,2\n', ':3:1:', 'earlier than 10 on line 2'],
  ['ragged row', `${H}\nfork,,1\n`, ':2', 'malformed CSV'],
  ['invalid system JSON', `# system: {"cpus": 2,}\n${H}\n`, ':1:', 'not valid JSON'],
  ['invalid system field', `# system: {"cpus": 2, "asidBits": 12}\n${H}\n`, ':1:1:', 'asidBits: arm64 CPUs implement 8 or 16'],
  ['unknown system field', `# system: {"cpu": 2}\n${H}\n`, ':1:1:', 'Unrecognized key'],
  ['cpu beyond the system', `# system: {"cpus": 2}\n${H}\nfork,,1,,,\nschedule,2,1,,,\n`, ':4:10:', 'cpu 2 does not exist'],
  ['schedule of a task never forked', `${H}\nschedule,0,7,,,\n`, ':2:12:', 'task 7 is not alive'],
  ['fork of a live task', `${H}\nfork,,1,,,\nfork,,1,,,\n`, ':3:7:', 'already alive'],
  ['pin of an unknown mm', `${H}\npin,,,ghost,,\n`, ':2:7:', 'mm ghost is not a live address space'],
  ['map with neither mm nor domain', `${H}\nmap,,,,0x1000,0x1000\n`, ':2:', 'exactly one of mm'],
  ['zero-size unmap', `${H}\nfork,,1,P,,\nunmap,,,P,0x1000,0\n`, ':3:', 'size must be at least 1'],
  ['no header at all', '# only a comment\n', ':1:1:', 'no header row'],
  ['device not declared in the system', `event,device,domain\nattach,dev0,d0\n`, ':2:8:', 'device dev0 is not declared'],
  [
    'system: device behind an unknown SMMU',
    `# system: {"smmus":[{"name":"s0"}],"devices":[{"name":"d","smmu":"s1"}]}\n${H}\n`,
    ':1:1:',
    'devices.0.smmu: no SMMU named "s1"',
  ],
  [
    'system: StreamID used twice on one SMMU',
    `# system: {"smmus":[{"name":"s0"}],"devices":[{"name":"a","smmu":"s0","streamIds":[7]},{"name":"b","smmu":"s0","streamIds":[7]}]}\n${H}\n`,
    ':1:1:',
    'StreamID 7 is already used by device "a"',
  ],
  ['system: unknown fault', `# system: {"faults":["no-tlbi"]}\n${H}\n`, ':1:1:', 'faults.0'],
  ['src without its line', `event,task,src\nfork,1,2094.163981\n`, ':2:8:', 'expected the source of the event as <seconds>@L<line>'],
  ['src line 0', `event,task,src\nfork,1,2094.163981@L5\nexit,1,2094.2@L0\n`, ':3:8:', '<seconds>@L<line>'],
  ['bad prot cell', `${S}${D}\nfork,,1,P,,,,,\nmap,,,P,,0x1000,0x1000,x,\n`, ':4:24:', 'expected r, w or rw'],
  ['detach without attach', `${S}${D}\ndetach,,,,d,,,,\n`, ':3:11:', 'device d has no DMA domain attached'],
  ['map of a domain never attached', `${S}event,domain,va,size\nmap,D9,0x1000,0x1000\n`, ':3:5:', 'domain D9 is not attached'],
  ['unbind of an mm not bound', `${S}${D}\nfork,,1,P,,,,,\nunbind,,,P,d,,,,\n`, ':4:10:', 'device d is not bound to mm P'],
  ['resume of an operation never started', `${S}${D}\nresume,,,,,,,,b9\n`, ':3:15:', 'no operation labelled b9 was started'],
  [
    'op label used twice',
    `${S}${D}\nfork,,1,P,,,,,\nfork,,2,Q,,,,,\nbind,,,P,d,,,,b1\nbind,,,Q,d,,,,b1\n`,
    ':6:',
    'operation label b1 was already used at row 5',
  ],
  ['op on an event that is not stepped', `${S}${D}\nfork,,1,P,,,,,\nunbind,,,P,d,,,,b1\n`, ':4:', 'column op is not used by event unbind'],
];

describe('bad traces: exit 2 with file:line:col', () => {
  it.each(CASES)('%s', async (_name, text, where, phrase) => {
    const f = tmpFile(text);
    const r = await cli('replay', f);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${f}${where}`);
    expect(r.err).toContain(phrase);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('bad files and usage: exit 2', () => {
  it('missing file', async () => {
    const r = await cli('replay', '/nonexistent/trace.csv');
    expect([r.code, r.err]).toEqual([2, 'asid-replay: /nonexistent/trace.csv: no such file\n']);
  });
  it('a directory', async () => {
    const d = tmp();
    const r = await cli('replay', d);
    expect(r.code).toBe(2);
    expect(r.err).toContain('is a directory');
  });
  it('unknown --allocator', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--allocator', 'v9');
    expect(r.code).toBe(2);
    expect(r.err).toContain('Allowed choices are v4.19, pin-v1, pin-v2, v5.6, v5.10');
  });
  it('unknown --fail-on kind', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--fail-on', 'bugs');
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown kind "bugs"');
  });
  it('non-integer --cpus', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--cpus', 'four');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--cpus must be an integer');
  });
  it('--cpus smaller than the CPUs the trace uses: error at the first such row', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--cpus', '2');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/juno-trace-txt\.csv:\d+:\d+: cpu \d does not exist: the system has 2 CPUs/);
  });
  it('unknown import kind and unreadable import input', async () => {
    const o = `${tmp()}/x.csv`;
    expect((await cli('import', 'perf', 'traces/real/juno-trace-txt.csv', '-o', o)).code).toBe(2);
    const r = await cli('import', 'systrace', 'package.json', '-o', o);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no ftrace text found');
  });
  it('unknown command', async () => {
    expect((await cli('replya')).code).toBe(2);
  });
});
