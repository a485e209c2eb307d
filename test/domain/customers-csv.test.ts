/**
 * What a responder is told about a customer CSV that cannot be read: the file's own line (a quoted
 * field may span lines), how many columns a row has too many, bytes that are not UTF-8, and
 * control characters in any field — each refused, never stored.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeCustomerCsv,
  parseCustomersCsv,
  parseCustomersJson,
} from '../../functions/domain/customers.ts';

const header = 'customer_ref,email,name,amount,currency,product_area,payment_ref';
const issuesOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as { issues?: unknown }).issues;
  }
  throw new Error('it was accepted');
};

describe('a customer CSV that cannot be read', () => {
  it('names the line of the file, past a quoted field that spans lines', () => {
    const upload = `${header}\ncus_1,a@example.com,"Lovelace, Ada",1,EUR,"payments,\ncards",\n\ncus_2,not-an-address,Bo,1,EUR,,\n`;
    expect(issuesOf(() => parseCustomersCsv(upload))).toEqual([
      { field: 'line 2', message: 'product_area holds a control character (U+000A): remove it' },
      { field: 'line 5', message: expect.stringContaining('email') },
    ]);
    const crlf = `${header}\r\ncus_1,,"A\r\nB",,,,\r\ncus_2,,,,,,\r\n\r\ncus_2,,,,,,\r\n`;
    expect(issuesOf(() => parseCustomersCsv(crlf))).toEqual([
      { field: 'line 2', message: 'name holds a control character (U+000D): remove it' },
      { field: 'line 6', message: 'customer_ref cus_2 repeats line 4' },
    ]);
  });

  it('says how many columns a row has too many, not that customer_ref is missing', () => {
    const upload = `${header}\ncus_1,a@example.com,Ann,1,EUR,,ch_1,x,y,z\ncus_2,b@example.com,Bo,1,EUR,,ch_2,x\ncus_3,c@example.com,Cy,1,EUR,,ch_3\n`;
    expect(issuesOf(() => parseCustomersCsv(upload))).toEqual([
      { field: 'line 2', message: '3 columns too many: the header names 7' },
      { field: 'line 3', message: '1 column too many: the header names 7' },
    ]);
  });

  it('refuses NUL and every other control character in any field, CSV or JSON', () => {
    expect(
      issuesOf(() => parseCustomersCsv(`${header}\ncus_1,,An\u0000n,,,,\ncus_2,,Bo,,,pay\u0007,\n`)),
    ).toEqual([
      { field: 'line 2', message: 'name holds a control character (U+0000): remove it' },
      { field: 'line 3', message: 'product_area holds a control character (U+0007): remove it' },
    ]);
    expect(
      issuesOf(() =>
        parseCustomersJson({ customers: [{ customer_ref: 'c', name: 'Ann\u2028Bcc: x@evil' }] }),
      ),
    ).toEqual([{ field: 'customers[0]', message: 'name holds a control character (U+2028): remove it' }]);
  });

  it('refuses bytes that are not UTF-8, naming the line', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${header}\ncus_1,,Ann,,,,\ncus_2,,B`),
      Buffer.from([0xf6]),
      Buffer.from('rk,,,,\n'),
    ]);
    expect(issuesOf(() => decodeCustomerCsv(bytes))).toEqual([
      { field: 'line 3', message: 'is not UTF-8: save the file as UTF-8 (CSV UTF-8) and upload it again' },
    ]);
    // Text a gateway already decoded carries U+FFFD where such bytes were.
    expect(issuesOf(() => decodeCustomerCsv(`${header}\ncus_1,,B\uFFFDrk,,,,\n`))).toEqual([
      { field: 'line 2', message: 'is not UTF-8: save the file as UTF-8 (CSV UTF-8) and upload it again' },
    ]);
    expect(decodeCustomerCsv(Buffer.from(`\uFEFF${header}\ncus_1,,Åsa,,,,\n`))).toBe(
      `${header}\ncus_1,,Åsa,,,,\n`,
    );
  });
});
