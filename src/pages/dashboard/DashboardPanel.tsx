import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { describeError, requestAPI } from '../../api/request';
import { ActivityView } from '../../components/ActivityView';
import { formatSize } from '../../snippets';
import { dashboardCharts, IChart, IDashboard, VEGALITE_MIME } from './charts';

/**
 * The time windows the page offers, in days.
 */
export const WINDOWS = [7, 30, 90];

/**
 * `GET modelvault/api/dashboard?days=`.
 */
export function fetchDashboard(
  serverSettings: ServerConnection.ISettings,
  days: number
): Promise<IDashboard> {
  return requestAPI<IDashboard>(
    'dashboard',
    { method: 'GET' },
    serverSettings,
    {
      days: String(days)
    }
  );
}

/**
 * The vault dashboard (main-area content): repositories table, charts drawn
 * by JupyterLab's Vega-Lite renderer, and the transfers in progress.
 */
export class DashboardPanel extends ReactWidget {
  constructor(options: DashboardPanel.IOptions) {
    super();
    this._options = options;
    this.addClass('jp-ModelVault-Dashboard');
    void this.refresh();
  }

  /**
   * The data shown, `null` before the first load.
   */
  get data(): IDashboard | null {
    return this._data;
  }

  /**
   * The time window in days.
   */
  get days(): number {
    return this._days;
  }
  set days(value: number) {
    this._days = value;
    void this.refresh();
  }

  /**
   * Reload the data from the server.
   */
  async refresh(): Promise<void> {
    this._loading = true;
    this.update();
    try {
      this._data = await fetchDashboard(
        this._options.serverSettings,
        this._days
      );
      this._error = null;
    } catch (error) {
      this._error = describeError(error);
    }
    this._loading = false;
    this.update();
  }

  /**
   * Redraw the charts (the theme changed: their text colour follows it).
   */
  redraw(): void {
    this._generation++;
    this.update();
  }

  protected render(): JSX.Element {
    const { trans } = this._options;
    const data = this._data;
    const textColor =
      getComputedStyle(document.body)
        .getPropertyValue('--jp-ui-font-color1')
        .trim() || '#333';
    return (
      <div className="jp-ModelVault-DashboardBody">
        <header className="jp-ModelVault-DashboardHeader">
          <h1>{trans.__('ModelVault dashboard')}</h1>
          <label>
            {trans.__('Window')}{' '}
            <select
              className="jp-mod-styled"
              value={this._days}
              onChange={e => (this.days = Number(e.currentTarget.value))}
            >
              {WINDOWS.map(d => (
                <option key={d} value={d}>
                  {trans._n('%1 day', '%1 days', d)}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="jp-mod-styled jp-ModelVault-DashboardRefresh"
            onClick={() => void this.refresh()}
            disabled={this._loading}
          >
            {trans.__('Refresh')}
          </button>
        </header>
        {this._error && (
          <div
            className="jp-ModelVault-Alert jp-ModelVault-Alert-error"
            role="alert"
          >
            {this._error}
          </div>
        )}
        {!data && !this._error && (
          <p className="jp-ModelVault-Placeholder" role="status">
            {trans.__('Loading…')}
          </p>
        )}
        {data && (
          <>
            {data.truncated && (
              <p className="jp-ModelVault-Hint" role="note">
                {trans.__(
                  'Only the most recent events and the first model cards were read: older data is left out.'
                )}
              </p>
            )}
            <RepositoryTable data={data} trans={trans} />
            <div className="jp-ModelVault-DashboardCharts">
              {dashboardCharts(data, textColor).map(chart => (
                <ChartView
                  key={`${chart.id}-${this._generation}`}
                  chart={chart}
                  rendermime={this._options.rendermime}
                  trans={trans}
                />
              ))}
            </div>
            <section
              className="jp-ModelVault-DashboardSection"
              aria-labelledby="jp-ModelVault-DashboardTransfers"
            >
              <h2 id="jp-ModelVault-DashboardTransfers">
                {trans.__('Active transfers')}
              </h2>
              <ActivityView
                operations={data.transfers}
                isLoaded={true}
                error={null}
                trans={trans}
              />
            </section>
          </>
        )}
      </div>
    );
  }

  private _options: DashboardPanel.IOptions;
  private _data: IDashboard | null = null;
  private _error: string | null = null;
  private _loading = false;
  private _days = 30;
  private _generation = 0;
}

/**
 * The static namespace for `DashboardPanel`.
 */
export namespace DashboardPanel {
  export interface IOptions {
    serverSettings: ServerConnection.ISettings;
    rendermime: IRenderMimeRegistry;
    trans: TranslationBundle;
  }
}

/**
 * One row per repository: what it holds and how its cache serves.
 */
function RepositoryTable(props: {
  data: IDashboard;
  trans: TranslationBundle;
}): JSX.Element {
  const { data, trans } = props;
  return (
    <table
      className="jp-ModelVault-DashboardTable"
      aria-label={trans.__('Repositories')}
    >
      <thead>
        <tr>
          <th scope="col">{trans.__('Repository')}</th>
          <th scope="col">{trans.__('Kind')}</th>
          <th scope="col">{trans.__('Files')}</th>
          <th scope="col">{trans.__('Size')}</th>
          <th scope="col">{trans.__('Cache hit ratio')}</th>
          <th scope="col">{trans.__('Upstream / members')}</th>
        </tr>
      </thead>
      <tbody>
        {data.repositories.map(r => (
          <tr key={r.key} data-repository={r.key}>
            <th scope="row">{r.key}</th>
            <td>{r.kind}</td>
            <td>{r.files}</td>
            <td>{formatSize(r.bytes)}</td>
            <td>
              {r.cache.hit_ratio === null
                ? '—'
                : trans.__(
                    '%1% (%2 of %3)',
                    Math.round(r.cache.hit_ratio * 100),
                    r.cache.hits,
                    r.cache.hits + r.cache.misses
                  )}
            </td>
            <td>{r.upstream ?? (r.members.join(', ') || '—')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * A chart drawn by the registry's Vega-Lite renderer, with its data as a
 * table for screen readers (and as the fallback when no renderer is there).
 */
function ChartView(props: {
  chart: IChart;
  rendermime: IRenderMimeRegistry;
  trans: TranslationBundle;
}): JSX.Element {
  const { chart, rendermime, trans } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const [failed, setFailed] = React.useState<string | null>(null);
  const empty = chart.rows.length === 0;
  React.useEffect(() => {
    if (empty || !host.current) {
      return;
    }
    if (
      rendermime.preferredMimeType({ [VEGALITE_MIME]: {} }, 'any') !==
      VEGALITE_MIME
    ) {
      setFailed(trans.__('JupyterLab has no Vega-Lite renderer.'));
      return;
    }
    const renderer = rendermime.createRenderer(VEGALITE_MIME);
    const model = rendermime.createModel({
      data: { [VEGALITE_MIME]: chart.spec as any },
      trusted: true
    });
    // Not Widget.attach: React may remove the host before this effect's
    // cleanup runs, and detaching a widget from a removed host throws.
    host.current.appendChild(renderer.node);
    renderer.renderModel(model).catch(reason => setFailed(String(reason)));
    return () => renderer.dispose();
  }, [chart, rendermime, empty]);
  const columns = chart.rows.length > 0 ? Object.keys(chart.rows[0]) : [];
  return (
    <figure
      className="jp-ModelVault-DashboardChart"
      data-chart={chart.id}
      aria-label={chart.title}
    >
      {empty ? (
        <>
          <figcaption>{chart.title}</figcaption>
          <p className="jp-ModelVault-Placeholder">
            {trans.__('No data yet.')}
          </p>
        </>
      ) : (
        <div
          className="jp-ModelVault-ChartHost"
          ref={host}
          role="img"
          aria-label={chart.title}
        />
      )}
      {failed && (
        <p className="jp-ModelVault-Hint" role="note">
          {failed}
        </p>
      )}
      {!empty && (
        <details className="jp-ModelVault-ChartData">
          <summary>{trans.__('Data of "%1"', chart.title)}</summary>
          <table>
            <thead>
              <tr>
                {columns.map(c => (
                  <th key={c} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {chart.rows.map((row, i) => (
                <tr key={i}>
                  {columns.map(c => (
                    <td key={c}>{row[c]}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
