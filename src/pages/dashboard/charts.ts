import type { components } from '../../api/schema';

type Schemas = components['schemas'];

/**
 * Body of `GET modelvault/api/dashboard`.
 */
export type IDashboard = Schemas['Dashboard'];

/**
 * One repository's aggregates in the dashboard.
 */
export type IRepositoryStats = Schemas['RepositoryStats'];

/**
 * The MIME type of JupyterLab's Vega-Lite 5 renderer.
 */
export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

/**
 * A Vega-Lite specification (kept loose: the renderer validates it).
 */
export type VegaLiteSpec = { [key: string]: unknown };

/**
 * One chart of the dashboard: its title, the spec, and the rows it draws (for
 * the accessible table shown alongside and for tests).
 */
export interface IChart {
  id: string;
  title: string;
  spec: VegaLiteSpec;
  rows: Array<{ [key: string]: string | number }>;
}

/**
 * Colours of scan verdicts, the same meaning as the sidebar badges.
 */
export const VERDICT_COLORS: { [verdict: string]: string } = {
  clean: '#2e7d32',
  suspicious: '#ef6c00',
  malicious: '#c62828',
  error: '#6a1b9a',
  'not-scanned': '#9e9e9e'
};

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/**
 * Chart settings that follow JupyterLab's theme: the Vega renderer draws on a
 * transparent background, so axes and legends take the current font colour.
 */
function base(
  title: string,
  rows: Array<{ [key: string]: string | number }>,
  textColor: string
): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title,
    // A fixed size: 'container' measures 0 when drawn before layout.
    width: 260,
    height: 180,
    background: 'transparent',
    data: { values: rows },
    config: {
      axis: {
        labelColor: textColor,
        titleColor: textColor,
        gridColor: '#8884',
        domainColor: textColor,
        tickColor: textColor
      },
      legend: { labelColor: textColor, titleColor: textColor },
      title: { color: textColor },
      view: { stroke: null }
    }
  };
}

/**
 * Bytes held per repository (bar chart, largest first).
 */
export function bytesChart(data: IDashboard, textColor: string): IChart {
  const rows = data.repositories
    .filter(r => r.files > 0)
    .map(r => ({ repository: r.key, bytes: r.bytes, files: r.files }))
    .sort(
      (a, b) => b.bytes - a.bytes || (a.repository < b.repository ? -1 : 1)
    );
  return {
    id: 'bytes',
    title: 'Bytes per repository',
    rows,
    spec: {
      ...base('Bytes per repository', rows, textColor),
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'repository', type: 'nominal', sort: '-x', title: null },
        x: {
          field: 'bytes',
          type: 'quantitative',
          title: 'bytes',
          axis: { format: '~s' }
        },
        color: { value: '#1976d2' }
      }
    }
  };
}

/**
 * Stored files per verdict, stacked per repository.
 */
export function verdictChart(data: IDashboard, textColor: string): IChart {
  const rows = data.repositories.flatMap(r =>
    Object.entries(r.verdicts).map(([verdict, files]) => ({
      repository: r.key,
      verdict,
      files
    }))
  );
  const verdicts = Array.from(new Set(rows.map(r => r.verdict))).sort();
  return {
    id: 'verdicts',
    title: 'Verdicts per repository',
    rows,
    spec: {
      ...base('Verdicts per repository', rows, textColor),
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'repository', type: 'nominal', title: null },
        x: {
          field: 'files',
          type: 'quantitative',
          title: 'files',
          axis: { tickMinStep: 1, format: 'd' }
        },
        color: {
          field: 'verdict',
          type: 'nominal',
          scale: {
            domain: verdicts,
            range: verdicts.map(v => VERDICT_COLORS[v] ?? '#607d8b')
          }
        }
      }
    }
  };
}

/**
 * Hub repos per licence, stacked per repository.
 */
export function licenceChart(data: IDashboard, textColor: string): IChart {
  const rows = data.repositories.flatMap(r =>
    Object.entries(r.licences).map(([licence, repos]) => ({
      repository: r.key,
      licence,
      repos
    }))
  );
  return {
    id: 'licences',
    title: 'Licences per repository',
    rows,
    spec: {
      ...base('Licences per repository', rows, textColor),
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'repository', type: 'nominal', title: null },
        x: {
          field: 'repos',
          type: 'quantitative',
          title: 'Hub repos',
          axis: { tickMinStep: 1, format: 'd' }
        },
        color: {
          field: 'licence',
          type: 'nominal',
          scale: { scheme: 'tableau10' }
        }
      }
    }
  };
}

/**
 * Cache hit ratio of the remote repositories that served downloads.
 */
export function cacheChart(data: IDashboard, textColor: string): IChart {
  const rows = data.repositories
    .filter(r => r.cache.hit_ratio !== null)
    .map(r => ({
      repository: r.key,
      hit_ratio: r.cache.hit_ratio as number,
      hits: r.cache.hits,
      misses: r.cache.misses
    }));
  return {
    id: 'cache',
    title: 'Remote cache hit ratio',
    rows,
    spec: {
      ...base('Remote cache hit ratio', rows, textColor),
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'repository', type: 'nominal', title: null },
        x: {
          field: 'hit_ratio',
          type: 'quantitative',
          title: 'hits / downloads',
          scale: { domain: [0, 1] },
          axis: { format: '%' }
        },
        color: { value: '#00897b' }
      }
    }
  };
}

/**
 * Policy blocks and waivers granted per day (every day of the window, so
 * quiet days show as zero rather than disappearing).
 */
export function timelineChart(
  data: IDashboard,
  textColor: string,
  now: number = Date.now()
): IChart {
  const counts = new Map<string, number>();
  for (const point of data.timeline) {
    const key = `${point.day}|${point.kind}`;
    counts.set(key, (counts.get(key) ?? 0) + point.count);
  }
  const rows: Array<{ day: string; kind: string; count: number }> = [];
  const end = Math.floor(now / 86400000);
  for (let d = end - data.days + 1; d <= end; d++) {
    const day = new Date(d * 86400000).toISOString().slice(0, 10);
    for (const kind of ['block', 'waiver']) {
      rows.push({ day, kind, count: counts.get(`${day}|${kind}`) ?? 0 });
    }
  }
  return {
    id: 'timeline',
    title: 'Blocks and waivers per day',
    rows,
    spec: {
      ...base('Blocks and waivers per day', rows, textColor),
      mark: { type: 'line', point: true, tooltip: true },
      encoding: {
        x: { field: 'day', type: 'temporal', title: null },
        y: {
          field: 'count',
          type: 'quantitative',
          title: 'events',
          axis: { tickMinStep: 1, format: 'd' }
        },
        color: {
          field: 'kind',
          type: 'nominal',
          scale: { domain: ['block', 'waiver'], range: ['#c62828', '#1976d2'] }
        }
      }
    }
  };
}

/**
 * Every chart of the dashboard, in display order.
 */
export function dashboardCharts(
  data: IDashboard,
  textColor: string,
  now: number = Date.now()
): IChart[] {
  return [
    bytesChart(data, textColor),
    cacheChart(data, textColor),
    verdictChart(data, textColor),
    licenceChart(data, textColor),
    timelineChart(data, textColor, now)
  ];
}
