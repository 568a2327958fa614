import { describe, expect, it } from 'vitest';
import { renderTable } from '../../../functions/cli/table';

describe('renderTable', () => {
  it('aligns columns to the widest cell and stacks multi-line cells in one row', () => {
    const text = renderTable(
      ['ID', 'NAMES', 'DAYS'],
      [
        ['web', ['example.test', '*.example.test'], '89.5'],
        ['api-long-name', 'api.test', ''],
      ],
    );
    expect(text.split('\n')).toEqual([
      'ID             NAMES           DAYS',
      '-------------  --------------  ----',
      'web            example.test    89.5',
      '               *.example.test',
      'api-long-name  api.test',
    ]);
  });

  it('counts code points, so an en dash or ellipsis does not skew the columns', () => {
    const text = renderTable(['A', 'B'], [['x – y…', '1']]);
    expect(text.split('\n')[2]).toBe('x – y…  1');
    expect(text.split('\n')[1]).toBe('------  -');
  });

  it('renders only the header when there are no rows', () => {
    expect(renderTable(['ONE', 'TWO'], [])).toBe('ONE  TWO\n---  ---');
  });
});
