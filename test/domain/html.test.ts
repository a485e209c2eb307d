import { describe, expect, it } from 'vitest';
import { table, timeHtml } from '../../functions/domain/html.ts';
import { counted } from '../../functions/domain/text.ts';

const now = new Date('2026-11-29T09:11:30.000Z');

describe('times on pages', () => {
  it('keep the exact instant for machines and the reader’s words for people', () => {
    expect(timeHtml('2026-11-29T08:59:12.345Z', now)).toBe(
      '<time datetime="2026-11-29T08:59:12.345Z" title="2026-11-29T08:59:12.345Z">29 Nov 08:59 UTC, 12 min ago</time>',
    );
  });

  it('show a value that is not an instant as escaped text, in no <time>', () => {
    expect(timeHtml('<b>?</b>', now)).toBe('&lt;b&gt;?&lt;/b&gt;');
  });
});

describe('tables that fold on a phone', () => {
  const columns = [
    { header: 'Kind', cell: (r: { kind: string; n: number }) => r.kind },
    { header: 'Say "hi"', cell: (r: { kind: string; n: number }) => `<b>${r.n}</b>` },
  ];

  it('label every cell with its column header', () => {
    const html = table(columns, [
      { kind: 'refund', n: 2 },
      { kind: 'notice', n: 3 },
    ]);
    expect(html).toContain('<table class="stack"><thead><tr><th scope="col">Kind</th>');
    expect(html).toContain('<th scope="col">Say &quot;hi&quot;</th>');
    expect(html.match(/<td data-label="Kind">/g)).toHaveLength(2);
    expect(html).toContain(
      '<td data-label="Kind">refund</td><td data-label="Say &quot;hi&quot;"><b>2</b></td>',
    );
    expect(html).toContain(
      '<td data-label="Kind">notice</td><td data-label="Say &quot;hi&quot;"><b>3</b></td>',
    );
  });

  it('say so instead of showing headers over nothing', () => {
    expect(table(columns, [], 'No entries <yet>.')).toBe('<p class="meta">No entries &lt;yet&gt;.</p>');
  });
});

describe('counts in words', () => {
  it('take the singular only for one', () => {
    expect(counted(1, 'entry', 'entries')).toBe('1 entry');
    expect(counted(0, 'entry', 'entries')).toBe('0 entries');
    expect(counted(2, 'customer')).toBe('2 customers');
  });
});
