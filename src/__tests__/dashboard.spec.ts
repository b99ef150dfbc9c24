import {
  bytesChart,
  cacheChart,
  dashboardCharts,
  IDashboard,
  licenceChart,
  timelineChart,
  verdictChart,
  VERDICT_COLORS
} from '../pages/dashboard/charts';
import { transfersLabel } from '../pages/status/TransfersStatus';
import { nullTranslator } from '@jupyterlab/translation';

const trans = nullTranslator.load('modelvault_jlab');

function repo(
  key: string,
  extra: Partial<IDashboard['repositories'][number]> = {}
): IDashboard['repositories'][number] {
  return {
    key,
    kind: 'hf-local',
    files: 0,
    bytes: 0,
    verdicts: {},
    licences: {},
    cache: { hits: 0, misses: 0, hit_ratio: null },
    upstream: null,
    members: [],
    ...extra
  };
}

const NOW = Date.UTC(2026, 11, 7, 12);

const DATA: IDashboard = {
  since: NOW / 1000 - 3 * 86400,
  days: 3,
  repositories: [
    repo('small', {
      files: 2,
      bytes: 10,
      verdicts: { clean: 2 },
      licences: { MIT: 1 }
    }),
    repo('big', {
      files: 3,
      bytes: 1000,
      verdicts: { clean: 2, malicious: 1 },
      licences: { 'apache-2.0': 2, none: 1 }
    }),
    repo('mirror', {
      kind: 'hf-remote',
      cache: { hits: 3, misses: 1, hit_ratio: 0.75 },
      upstream: 'https://huggingface.co'
    })
  ],
  timeline: [
    { day: '2026-12-07', repository: 'big', kind: 'block', count: 2 },
    { day: '2026-12-07', repository: 'small', kind: 'block', count: 1 },
    { day: '2026-12-06', repository: null, kind: 'waiver', count: 1 }
  ],
  transfers: [],
  truncated: false
};

describe('dashboard charts', () => {
  it('sorts bytes per repository, largest first, without empty ones', () => {
    const chart = bytesChart(DATA, '#000');
    expect(chart.rows).toEqual([
      { repository: 'big', bytes: 1000, files: 3 },
      { repository: 'small', bytes: 10, files: 2 }
    ]);
    expect((chart.spec.data as any).values).toBe(chart.rows);
    expect(chart.spec.$schema).toContain('vega-lite/v5');
  });

  it('stacks verdicts with the sidebar colours', () => {
    const chart = verdictChart(DATA, '#000');
    expect(chart.rows).toContainEqual({
      repository: 'big',
      verdict: 'malicious',
      files: 1
    });
    const scale = (chart.spec.encoding as any).color.scale;
    expect(scale.domain).toEqual(['clean', 'malicious']);
    expect(scale.range).toEqual([
      VERDICT_COLORS.clean,
      VERDICT_COLORS.malicious
    ]);
  });

  it('counts licences per repository', () => {
    const rows = licenceChart(DATA, '#000').rows;
    expect(rows).toHaveLength(3);
    expect(rows).toContainEqual({
      repository: 'big',
      licence: 'apache-2.0',
      repos: 2
    });
  });

  it('shows the hit ratio of remotes that served downloads only', () => {
    expect(cacheChart(DATA, '#000').rows).toEqual([
      { repository: 'mirror', hit_ratio: 0.75, hits: 3, misses: 1 }
    ]);
  });

  it('fills every day of the window and sums repositories', () => {
    const rows = timelineChart(DATA, '#000', NOW).rows;
    expect(rows).toHaveLength(6); // 3 days x (block, waiver)
    expect(rows[0]).toEqual({ day: '2026-12-05', kind: 'block', count: 0 });
    expect(rows).toContainEqual({ day: '2026-12-07', kind: 'block', count: 3 });
    expect(rows).toContainEqual({
      day: '2026-12-06',
      kind: 'waiver',
      count: 1
    });
  });

  it('themes every chart with the given text colour', () => {
    const charts = dashboardCharts(DATA, '#abcdef', NOW);
    expect(charts.map(c => c.id)).toEqual([
      'bytes',
      'cache',
      'verdicts',
      'licences',
      'timeline'
    ]);
    for (const chart of charts) {
      expect((chart.spec.config as any).axis.labelColor).toBe('#abcdef');
    }
  });
});

describe('transfers status label', () => {
  it('says nothing is moving, or how much moved', () => {
    expect(transfersLabel([], trans)).toBe('No transfers');
    const op = {
      id: 't1',
      kind: 'transfer' as const,
      repository: 'mirror',
      subject: 'acme/bert/model.safetensors',
      bytes_done: 2048,
      total: 4096,
      started_at: 1,
      state: 'running' as const,
      message: null
    };
    expect(transfersLabel([op, { ...op, id: 't2' }], trans)).toBe(
      '2 transfers, 4.0 KiB'
    );
  });
});
