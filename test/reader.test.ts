/**
 * Trace v1 reader: streaming, line numbers, preamble, the row schema.
 */
import { describe, expect, it } from 'vitest';
import { readEvents, readPreamble } from '../src/trace/reader.js';
import { validateRow } from '../src/trace/row-schema.js';
import { tmpFile } from './helpers/cli.js';

async function rows(text: string) {
  const out = [];
  for await (const e of readEvents(tmpFile(text))) out.push(e);
  return out;
}

describe('reader', () => {
  it('row numbers are file line numbers across comments, blank lines and CRLF', async () => {
    const evs = await rows('# c1\r\n# system: {"cpus": 2}\r\n\r\nevent,task,mm\r\n# mid\r\nfork,1,P\r\n\r\nfork,2,P\r\nexit,1,');
    expect(evs.map((e) => [e.row, e.kind, e.task])).toEqual([
      [6, 'fork', 1],
      [8, 'fork', 2],
      [9, 'exit', 1],
    ]);
  });
  it('columns in any order, hex and decimal integers, empty cells are absent', async () => {
    const [e] = await rows('size,va,mm,event,time\n0x2000,4096,P,unmap,17\n');
    expect(e).toEqual({ row: 2, kind: 'unmap', time: 17, mm: 'P', va: 4096, size: 0x2000 });
  });
  it('src (provenance) is kept as written, on any event; a trace without the column has none', async () => {
    const evs = await rows('time,event,cpu,task,mm,src\n5,fork,,1,p1:sh,2094.163981@L12\n6,schedule,0,1,,2094.163982@L13\n7,exit,,1,,\n');
    expect(evs.map((e) => e.src)).toEqual(['2094.163981@L12', '2094.163982@L13', undefined]);
    const [e] = await rows('event,task\nfork,1\n');
    expect(e!.src).toBeUndefined();
  });
  it('the preamble: system object, other comments, BOM', async () => {
    const p = await readPreamble(tmpFile('\uFEFF# hello\n# system: {"cpus": 3, "kpti": true}\nevent\n'));
    expect(p).toEqual({ comments: ['hello'], system: { cpus: 3, kpti: true }, systemLine: 2 });
  });
  it('the row schema accepts exactly the columns each event uses', () => {
    expect(validateRow({ event: 'bind', device: 'd0', mm: 'P', pasid: '0x10' }, 1)).toMatchObject({
      ok: true,
      event: { kind: 'bind', pasid: 16 },
    });
    expect(validateRow({ event: 'bind', device: 'd0' }, 1)).toMatchObject({ ok: false, column: 'mm' });
    expect(validateRow({ event: 'exit', task: '1', cpu: '0' }, 1)).toMatchObject({ ok: false, column: 'cpu' });
    expect(validateRow({ event: 'unmap', domain: 'D', mm: 'P', va: '0', size: '1' }, 1)).toMatchObject({ ok: false });
    expect(validateRow({ event: 'fork', task: '-1' }, 1)).toMatchObject({ ok: false, column: 'task' });
  });
});
